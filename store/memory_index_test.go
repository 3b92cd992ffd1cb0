package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSpanIndexAgreesWithAMap adds and removes ids at random, at loads that make probe runs
// wrap around the table and cross each other, and checks after every change that the index
// finds exactly what a map holds and that every entry knows its hash.
func TestSpanIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newSpanIndex()
	want := map[string]*memEntry{}
	ids := make([]string, 120)
	for i := range ids {
		ids[i] = fmt.Sprintf("sp_%016x", rng.Uint64())
	}
	for op := range 10000 {
		id := ids[rng.IntN(len(ids))]
		if e, ok := want[id]; ok && rng.IntN(2) == 0 {
			x.remove(e)
			delete(want, id)
		} else if !ok {
			e := &memEntry{rec: Record{SpanID: id}}
			x.add(x.hash(id), e)
			want[id] = e
		}
		if x.n != len(want) {
			t.Fatalf("op %d: index holds %d, want %d", op, x.n, len(want))
		}
		for _, id := range ids {
			if got := x.lookup(id); got != want[id] {
				t.Fatalf("op %d: lookup %s = %p, want %p", op, id, got, want[id])
			}
		}
		for id, e := range want {
			if e.hash != x.hash(id) {
				t.Fatalf("op %d: %s keeps hash %x, not its own", op, id, e.hash)
			}
		}
	}
	if len(x.slots) > 4*minIndexSlots {
		t.Errorf("%d slots for at most %d ids", len(x.slots), len(ids))
	}
}
