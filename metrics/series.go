package metrics

import (
	"sync"
	"sync/atomic"
)

// seriesCache maps a label key to pre-resolved metric children. Reads are one atomic load and
// one map lookup with no lock and no allocation; a new key copies the map, which happens once
// per key, so rarely after warm-up.
type seriesCache[K comparable, V any] struct {
	mu    sync.Mutex
	m     atomic.Pointer[map[K]V]
	build func(K) V
	// limit bounds the number of keys; past it, keys go through overflow, which must map
	// them onto a small fixed set.
	limit    int
	overflow func(K) K
}

func newSeriesCache[K comparable, V any](limit int, overflow func(K) K, build func(K) V) *seriesCache[K, V] {
	c := &seriesCache[K, V]{build: build, limit: limit, overflow: overflow}
	empty := map[K]V{}
	c.m.Store(&empty)
	return c
}

func (c *seriesCache[K, V]) get(k K) V {
	if v, ok := (*c.m.Load())[k]; ok {
		return v
	}
	return c.add(k)
}

func (c *seriesCache[K, V]) add(k K) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	if len(old) >= c.limit {
		k = c.overflow(k)
		if v, ok := old[k]; ok {
			return v
		}
	}
	v := c.build(k)
	next := make(map[K]V, len(old)+1)
	for ok, ov := range old {
		next[ok] = ov
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
