package spans

import (
	"maps"
	"sync"
	"sync/atomic"
)

// boundedCache is a read-mostly map for values built per request otherwise (span names,
// string-slice attributes): a read is one atomic load and a map lookup, an addition copies
// the map, at most max times; once full, callers build their values per call, as without it.
type boundedCache[K comparable, V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[K]V]
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// add keeps v for k unless the cache holds max entries already.
func (c *boundedCache[K, V]) add(k K, v V, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if len(old) >= max {
		return
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[K]V{}
	}
	next[k] = v
	c.m.Store(&next)
}

// len is the number of entries, for tests.
func (c *boundedCache[K, V]) len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}
