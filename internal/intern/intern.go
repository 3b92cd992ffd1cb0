package intern

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Cache is a bounded read-mostly map for values a hot path would otherwise build per request
// (span names, attribute values): a read is one atomic load and a map lookup; an addition
// copies the map, at most max times, and once the cache is full callers build their values
// per call, as without it. The zero value is ready. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu sync.Mutex // serialises additions
	m  atomic.Pointer[map[K]V]
}

// Get returns the value kept for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Add keeps v for k unless the cache holds max entries already or has k.
func (c *Cache[K, V]) Add(k K, v V, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if _, ok := old[k]; ok || len(old) >= max {
		return
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[K]V{}
	}
	next[k] = v
	c.m.Store(&next)
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// Table interns strings made from bytes: one shared copy of each, at most max.
type Table struct {
	c   Cache[string, string]
	max int
}

// New returns a table holding at most max strings.
func New(max int) *Table { return &Table{max: max} }

// Bytes returns b as a string: the table's copy when it holds one (no allocation), else a
// new string, kept for the next caller while the table has room.
func (t *Table) Bytes(b []byte) string {
	if s, ok := t.Known(b); ok {
		return s
	}
	s := string(b)
	t.Keep(s)
	return s
}

// Known returns the table's copy of b, if it holds one, without allocating.
func (t *Table) Known(b []byte) (string, bool) {
	if m := t.c.m.Load(); m != nil {
		s, ok := (*m)[string(b)] // the compiler makes no string for this look-up
		return s, ok
	}
	return "", false
}

// Keep keeps s for Bytes and Known while the table has room.
func (t *Table) Keep(s string) { t.c.Add(s, s, t.max) }

// Len is the number of strings held.
func (t *Table) Len() int { return t.c.Len() }
