package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestMemorySuite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore { return NewMemory(0) })
}

func TestMemoryKeepsTheNewest(t *testing.T) {
	m := NewMemory(5)
	for i := range 12 {
		put(t, m, record(i))
	}
	// An older record than every kept one is evicted at once.
	put(t, m, record(-1))
	if m.Len() != 5 {
		t.Fatalf("%d records held, want 5", m.Len())
	}
	want := []string{spanID(11), spanID(10), spanID(9), spanID(8), spanID(7)}
	if got := listAll(t, m, Filter{}, 2); !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if _, err := m.Get(context.Background(), spanID(3)); err == nil {
		t.Error("an evicted record is still found")
	}
	// Replacing a kept record does not evict another.
	put(t, m, record(9))
	if got := listAll(t, m, Filter{}, 10); !slices.Equal(got, want) {
		t.Errorf("after replace %v", got)
	}
}

// TestMemoryRingMatchesSortedModel drives the ring with records arriving out of order,
// replacements of kept and evicted spans and evaluations, through the public Put and the
// queue's putOwned, and checks after every batch that it holds what a plain sorted list
// bounded the same way holds, in the same order, with the same evaluations.
func TestMemoryRingMatchesSortedModel(t *testing.T) {
	const maxSpans = 37
	m := NewMemory(maxSpans)
	rng := rand.New(rand.NewPCG(1, 16))
	var model []Record // oldest first by (CreatedAt, SpanID)
	evals := map[string]int{}
	seen := map[string]bool{}
	for step := range 400 {
		batch := make([]Record, 1+rng.IntN(9))
		for i := range batch {
			id := step*10 + i
			if rng.IntN(5) == 0 {
				id = rng.IntN(step*10 + 1) // a replacement, of a kept or an evicted span
			}
			r := record(id)
			seen[r.SpanID] = true
			// Mostly in order, sometimes well before the newest, sometimes at the same microsecond.
			r.CreatedAt = base.Add(time.Duration(step*10+i-rng.IntN(3)*rng.IntN(40)) * time.Second)
			r.Tags = []string{"t" + fmt.Sprint(id%3)}
			batch[i] = r
		}
		var err error
		if step%2 == 0 {
			err = m.Put(context.Background(), batch)
		} else {
			err = m.putOwned(batch)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range batch {
			r.CreatedAt = normalTime(r.CreatedAt)
			if i := slices.IndexFunc(model, func(o Record) bool { return o.SpanID == r.SpanID }); i >= 0 {
				model = slices.Delete(model, i, i+1)
			} else {
				delete(evals, r.SpanID) // an evicted span comes back without them
			}
			at, _ := slices.BinarySearchFunc(model, positionOf(&r), func(o Record, p position) int { return positionOf(&o).compare(p) })
			model = slices.Insert(model, at, r)
			for len(model) > maxSpans {
				delete(evals, model[0].SpanID)
				model = model[1:]
			}
		}
		if len(model) > 0 {
			id := model[rng.IntN(len(model))].SpanID
			if err := m.AddEvaluation(context.Background(), Evaluation{SpanID: id, EvaluatorKey: "k", Value: 1}); err != nil {
				t.Fatal(err)
			}
			evals[id]++
		}
		var want []string
		for i := len(model) - 1; i >= 0; i-- {
			want = append(want, model[i].SpanID)
		}
		if got := listAll(t, m, Filter{}, 1+rng.IntN(10)); !slices.Equal(got, want) {
			t.Fatalf("step %d: holds %v, want %v", step, got, want)
		}
		if m.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", step, m.Len(), len(model))
		}
		for _, r := range model {
			got, err := m.Get(context.Background(), r.SpanID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.CreatedAt.Equal(r.CreatedAt) || *got.Cost != *r.Cost || !slices.Equal(got.Tags, r.Tags) || len(got.Evaluations) != evals[r.SpanID] {
				t.Fatalf("step %d: got %+v, want %+v with %d evaluations", step, got, r, evals[r.SpanID])
			}
		}
		kept := len(seen)
		for id := range seen {
			if _, err := m.Get(context.Background(), id); errors.Is(err, ErrNotFound) {
				kept--
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if kept != len(model) {
			t.Fatalf("step %d: Get finds %d spans, want the %d kept", step, kept, len(model))
		}
	}
}

// TestMemoryListCopiesAreIndependent: a caller editing a listed record's slices changes
// neither the store nor the other records of its page (they share one buffer per page).
func TestMemoryListCopiesAreIndependent(t *testing.T) {
	m := NewMemory(10)
	put(t, m, record(1), record(2), record(3))
	p := list(t, m, Filter{})
	for i := range p.Records {
		p.Records[i].Tags = append(p.Records[i].Tags, "extra")
		p.Records[i].Tags[0] = "changed"
		p.Records[i].Input[0] = 'X'
		*p.Records[i].Cost = -1
	}
	again := list(t, m, Filter{})
	for i, r := range again.Records {
		want := record(3 - i)
		if !slices.Equal(r.Tags, want.Tags) || string(r.Input) != string(want.Input) || *r.Cost != *want.Cost {
			t.Errorf("record %s reads back %v %s %v after the caller edited its copy", r.SpanID, r.Tags, r.Input, *r.Cost)
		}
	}
}
