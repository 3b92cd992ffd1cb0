package intern

import (
	"sync"
	"sync/atomic"
)

// Table interns strings. Reads take no lock: the map is replaced, never changed, on each
// insert, which is cheap because inserts stop at the bound and happen once per distinct
// string. Safe for concurrent use; the zero value is not ready, use New.
type Table struct {
	m   atomic.Pointer[map[string]string]
	mu  sync.Mutex // serialises inserts
	max int
}

// New returns a table holding at most max strings.
func New(max int) *Table {
	t := &Table{max: max}
	t.m.Store(&map[string]string{})
	return t
}

// Bytes returns b as a string: the table's copy when it holds one (no allocation), else a
// new string, kept for the next caller while the table has room.
func (t *Table) Bytes(b []byte) string {
	if s, ok := (*t.m.Load())[string(b)]; ok {
		return s
	}
	s := string(b)
	t.add(s, s)
	return s
}

// Derive returns derive(key), made once per key while the table has room: a table used this
// way maps keys to what derive makes of them (say a span name per model), and must not be
// used with Bytes or another derive.
func (t *Table) Derive(key string, derive func(string) string) string {
	if s, ok := (*t.m.Load())[key]; ok {
		return s
	}
	s := derive(key)
	t.add(key, s)
	return s
}

// Len is the number of strings held.
func (t *Table) Len() int { return len(*t.m.Load()) }

func (t *Table) add(key, value string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.m.Load()
	if _, ok := old[key]; ok || len(old) >= t.max {
		return
	}
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[key] = value
	t.m.Store(&m)
}
