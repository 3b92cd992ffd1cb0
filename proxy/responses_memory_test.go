package proxy

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRecentCacheBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newRecentCache[int](3, 100, time.Minute)
	c.now = func() time.Time { return now }
	for i := range 4 {
		c.put(strconv.Itoa(i), i, 10)
	}
	if _, ok := c.get("0"); ok {
		t.Error("the least recently used entry survived the entry limit")
	}
	if v, ok := c.get("1"); !ok || v != 1 {
		t.Error("a recent entry was dropped")
	}
	// "1" is now the most recent: a large entry pushes out the others by bytes.
	c.put("big", 9, 85)
	if _, ok := c.get("2"); ok {
		t.Error("the byte budget was not enforced")
	}
	if _, ok := c.get("1"); !ok {
		t.Error("the most recently used entry was dropped before older ones")
	}
	c.put("huge", 0, 101)
	if _, ok := c.get("huge"); ok {
		t.Error("an entry over the whole budget was kept")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.get("big"); ok || c.remove("1") {
		t.Error("expired entries are still served")
	}
	if listed := c.listed(); listed != len(c.entries) || c.bytes < 0 {
		t.Errorf("bookkeeping: %d linked, %d mapped, %d bytes", listed, len(c.entries), c.bytes)
	}
}

// listed walks the cache's list both ways and returns its length, -1 when the two walks
// disagree or a link is broken.
func (c *recentCache[V]) listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	forward := 0
	for e := c.root.next; e != &c.root; e = e.next {
		if e.next.prev != e {
			return -1
		}
		forward++
	}
	backward := 0
	for e := c.root.prev; e != &c.root; e = e.prev {
		backward++
	}
	if forward != backward {
		return -1
	}
	return forward
}

// The list keeps recency order through puts, look-ups, replacements and removals.
func TestRecentCacheOrder(t *testing.T) {
	c := newRecentCache[int](4, 1000, time.Minute)
	for i := range 4 {
		c.put(strconv.Itoa(i), i, 1)
	}
	c.get("0")        // 0 is now the most recent: 1 is the least
	c.put("2", 20, 1) // replaced: most recent, and still one entry
	if !c.remove("3") || c.remove("3") {
		t.Fatal("remove reported wrongly")
	}
	c.put("4", 4, 1)
	c.put("5", 5, 1) // over 4 entries: the least recent, 1, goes
	var order []string
	c.mu.Lock()
	for e := c.root.next; e != &c.root; e = e.next {
		order = append(order, e.key)
	}
	c.mu.Unlock()
	if got := strings.Join(order, ","); got != "5,4,2,0" {
		t.Fatalf("order %s, want 5,4,2,0", got)
	}
	if v, ok := c.get("2"); !ok || v != 20 {
		t.Fatalf("replaced entry: %v %v", v, ok)
	}
	if c.listed() != 4 || len(c.entries) != 4 || c.bytes != 4 {
		t.Fatalf("bookkeeping: %d linked, %d mapped, %d bytes", c.listed(), len(c.entries), c.bytes)
	}
}
