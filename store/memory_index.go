package store

import "hash/maphash"

// spanIndex finds a Memory's entries by span id: open addressing with linear probing over a
// power-of-two table kept at most 3/4 full. It replaces a map[string]*memEntry, which cost the
// memory store's write three hashed map operations per record once full (look the id up,
// delete the evicted one, insert the new one), each reading key strings that sit elsewhere
// in the heap. Here a slot keeps its entry's hash, so a probe reads key strings only on a
// full hash match; an entry keeps its hash too, so evicting one neither hashes nor compares
// strings; and an insert hashes its id once for the lookup and the placement.
type spanIndex struct {
	seed  maphash.Seed // per store: ids come from clients, and must not be able to collide at will
	slots []indexSlot
	n     int
}

type indexSlot struct {
	hash uint64
	e    *memEntry // nil: empty
}

const minIndexSlots = 64

func newSpanIndex() spanIndex {
	return spanIndex{seed: maphash.MakeSeed(), slots: make([]indexSlot, minIndexSlots)}
}

func (x *spanIndex) hash(id string) uint64 { return maphash.String(x.seed, id) }

func (x *spanIndex) mask() uint64 { return uint64(len(x.slots) - 1) }

// lookup returns the entry of id, nil when there is none.
func (x *spanIndex) lookup(id string) *memEntry { return x.find(x.hash(id), id) }

func (x *spanIndex) find(h uint64, id string) *memEntry {
	mask := x.mask()
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.e == nil {
			return nil
		}
		if s.hash == h && s.e.rec.SpanID == id {
			return s.e
		}
	}
}

// add indexes e, whose span id hashes to h and is not indexed yet.
func (x *spanIndex) add(h uint64, e *memEntry) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(2 * len(x.slots))
	}
	x.place(h, e)
	x.n++
}

func (x *spanIndex) place(h uint64, e *memEntry) {
	mask := x.mask()
	i := h & mask
	for x.slots[i].e != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{h, e}
	e.hash = h
}

func (x *spanIndex) resize(n int) {
	old := x.slots
	x.slots = make([]indexSlot, n)
	for _, s := range old {
		if s.e != nil {
			x.place(s.hash, s.e)
		}
	}
}

// remove unindexes e, which is indexed, shifting back the entries probed past its slot so
// that every entry stays reachable from its home slot without tombstones. Neither finding e
// nor shifting reads another entry: slots are told apart by pointer and placed by hash.
func (x *spanIndex) remove(e *memEntry) {
	mask := x.mask()
	hole := e.hash & mask
	for x.slots[hole].e != e {
		hole = (hole + 1) & mask
	}
	for j := (hole + 1) & mask; x.slots[j].e != nil; j = (j + 1) & mask {
		home := x.slots[j].hash & mask
		// The entry at j may move to the hole unless its home lies cyclically in (hole, j].
		if (j-home)&mask >= (j-hole)&mask {
			x.slots[hole] = x.slots[j]
			hole = j
		}
	}
	x.slots[hole] = indexSlot{}
	x.n--
}
