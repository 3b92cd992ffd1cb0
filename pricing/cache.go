package pricing

import (
	"strings"
	"sync"
)

// matchCacheMax bounds the cache: a gateway sees a handful of models, but model names come
// from callers, and a stream of made-up names must not grow memory.
const matchCacheMax = 4096

// matchCache remembers match results, misses included, so that a repeat lookup is one map
// read with no allocation. When full it starts over rather than tracking recency: real traffic
// refills it within a few requests.
type matchCache struct {
	mu sync.RWMutex
	m  map[matchKey]cachedMatch
}

type matchKey struct{ kind, model string }

type cachedMatch struct {
	price *Price // nil: unpriced
	key   string
}

func (c *matchCache) get(kind, model string) (cachedMatch, bool) {
	c.mu.RLock()
	m, ok := c.m[matchKey{kind, model}]
	c.mu.RUnlock()
	return m, ok
}

func (c *matchCache) put(kind, model string, m cachedMatch) {
	// Callers may hand in strings that alias a reused request buffer; the cache outlives it.
	k := matchKey{strings.Clone(kind), strings.Clone(model)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= matchCacheMax {
		c.m = make(map[matchKey]cachedMatch, 64)
	}
	c.m[k] = m
	c.mu.Unlock()
}

func (c *matchCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
