package proxy

import (
	"strconv"
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
	if c.order.Len() != len(c.entries) || c.bytes < 0 {
		t.Errorf("bookkeeping: %d listed, %d mapped, %d bytes", c.order.Len(), len(c.entries), c.bytes)
	}
}
