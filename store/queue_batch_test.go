package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test if it does not within a generous
// deadline: a guard against a hang, not a measure of speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// TestQueueWritesABurstSmallerThanABatch: records that never fill a batch still reach the
// backend, on the writer's timer, without Close.
func TestQueueWritesABurstSmallerThanABatch(t *testing.T) {
	m := NewMemory(0)
	q := NewQueue(m, 0)
	defer closeQueue(t, q)
	const n = 10 // far below maxBatch: no batch signal wakes the writer
	for i := range n {
		if !q.Enqueue(record(i)) {
			t.Fatalf("record %d refused", i)
		}
	}
	waitFor(t, "a burst of 10 written", func() bool { return m.Len() == n })
	// The counters move after the backend's write returns, so they are waited for too.
	waitFor(t, "the queue empty and its writes counted", func() bool {
		st := q.Stats()
		return st.Queued == 0 && st.Written == n
	})
	if st := q.Stats(); st.Written != n || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	for i := range n {
		if _, err := m.Get(context.Background(), spanID(i)); err != nil {
			t.Errorf("span %d not in the backend: %v", i, err)
		}
	}
}

// TestQueueBoundsWhatWaits: the queue's size bounds the records waiting, not the batch being
// written; past it records and evaluations are dropped and counted, and all that was taken is
// readable while the backend stalls and written once it recovers.
func TestQueueBoundsWhatWaits(t *testing.T) {
	const size = maxBatch + 44
	g := newGated(NewMemory(0))
	q := NewQueue(g, size)
	for i := range maxBatch {
		if !q.Enqueue(record(i)) {
			t.Fatalf("record %d refused", i)
		}
	}
	waitFor(t, "a write reaches the backend", func() bool { return g.waiting.Load() > 0 })
	// The writer holds its batch (all maxBatch, or fewer if its timer took them first).
	inFlight := maxBatch - q.Stats().Queued
	taken := 0
	for i := maxBatch; i < maxBatch+400; i++ {
		if q.Enqueue(record(i)) {
			taken++
		}
	}
	if want := size - (maxBatch - inFlight); taken != want {
		t.Fatalf("took %d more with %d in flight, want %d", taken, inFlight, want)
	}
	if st := q.Stats(); st.Queued != size || st.Dropped != uint64(400-taken) {
		t.Fatalf("stats %+v with the queue full", st)
	}
	if err := q.AddEvaluation(context.Background(), Evaluation{SpanID: spanID(1), EvaluatorKey: "k"}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("evaluation on a full queue: %v, want ErrQueueFull", err)
	}
	held := maxBatch + taken
	if got := listAll(t, q, Filter{}, MaxLimit); len(got) != held {
		t.Errorf("listed %d while stalled, want %d", len(got), held)
	}
	g.open()
	closeQueue(t, q)
	st := q.Stats()
	if st.Written != uint64(held) || st.Dropped != uint64(400-taken+1) || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("stats %+v after close, want %d written", st, held)
	}
	if got := listAll(t, g.Store, Filter{}, MaxLimit); len(got) != held {
		t.Errorf("backend holds %d, want %d", len(got), held)
	}
}

// TestQueueCloseWritesEverythingInOrder: Close writes every queued record, in the order
// queued, so a span queued twice ends as its later version.
func TestQueueCloseWritesEverythingInOrder(t *testing.T) {
	g := newGated(NewMemory(0))
	g.open() // the writer runs while records are queued
	q := NewQueue(g, 2000)
	var want []string
	for i := range 1000 {
		r := record(i)
		if i >= 500 && i < 600 {
			r = record(i - 500) // a second version of an earlier span
			r.Model = "v2"
		}
		if !q.Enqueue(r) {
			t.Fatalf("record %d refused", i)
		}
		want = append(want, r.SpanID+"/"+r.Model)
	}
	closeQueue(t, q)
	g.mu.Lock()
	var got []string
	for _, b := range g.batches {
		if len(b) > maxBatch {
			t.Errorf("batch of %d", len(b))
		}
		for _, r := range b {
			got = append(got, r.SpanID+"/"+r.Model)
		}
	}
	g.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("written in another order or incompletely: %d written, want %d", len(got), len(want))
	}
	if st := q.Stats(); st.Written != 1000 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	for i := range 100 {
		r, err := g.Store.Get(context.Background(), spanID(i))
		if err != nil || r.Model != "v2" {
			t.Fatalf("span %d after close: %v %+v", i, err, r)
		}
	}
}

// ordered is a backend that logs its writes and refuses an evaluation whose span it does
// not hold yet, as the SQL backends' foreign key does.
type ordered struct {
	Store
	mu      sync.Mutex
	written map[string]bool
	late    []string // evaluations that came before their span
}

func (o *ordered) Put(ctx context.Context, recs []Record) error {
	o.mu.Lock()
	for _, r := range recs {
		o.written[r.SpanID] = true
	}
	o.mu.Unlock()
	return o.Store.Put(ctx, recs)
}

func (o *ordered) AddEvaluation(ctx context.Context, ev Evaluation) error {
	o.mu.Lock()
	if !o.written[ev.SpanID] {
		o.late = append(o.late, ev.SpanID)
	}
	o.mu.Unlock()
	return o.Store.AddEvaluation(ctx, ev)
}

// TestQueueWritesEvaluationsAfterTheirRecords: an evaluation of a queued span reaches the
// backend after the span, whichever batch each falls in.
func TestQueueWritesEvaluationsAfterTheirRecords(t *testing.T) {
	o := &ordered{Store: NewMemory(0), written: map[string]bool{}}
	q := NewQueue(o, 2000)
	ctx := context.Background()
	evals := 0
	for i := range 900 {
		if !q.Enqueue(record(i)) {
			t.Fatalf("record %d refused", i)
		}
		if i%3 == 0 { // right behind its span: batch cuts fall between the two too
			ev := Evaluation{SpanID: spanID(i), EvaluatorKey: "k", Value: float64(i)}
			if err := q.AddEvaluation(ctx, ev); err != nil {
				t.Fatalf("evaluation of span %d: %v", i, err)
			}
			evals++
		}
	}
	closeQueue(t, q)
	if len(o.late) > 0 {
		t.Fatalf("%d evaluations written before their span, first %s", len(o.late), o.late[0])
	}
	if st := q.Stats(); st.Written != uint64(900+evals) || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want %d written", st, 900+evals)
	}
	for i := 0; i < 900; i += 3 {
		r, err := o.Store.Get(ctx, spanID(i))
		if err != nil || len(r.Evaluations) != 1 || r.Evaluations[0].Value != float64(i) {
			t.Fatalf("span %d: %v %s", i, err, fmt.Sprint(r))
		}
	}
}
