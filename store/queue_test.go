package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueSuite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore {
		q := NewQueue(NewMemory(0), 0)
		t.Cleanup(func() { closeQueue(t, q) })
		return q
	})
}

// TestQueueSuiteWhileBackendStalls runs the suite with a backend that writes only when the
// test lets it, so reads must serve queued records themselves.
func TestQueueSuiteWhileBackendStalls(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore {
		g := newGated(NewMemory(0))
		q := NewQueue(g, MaxLimit+100)
		t.Cleanup(func() {
			g.open()
			closeQueue(t, q)
		})
		// Let a batch through now and then, so reads mix written and queued records.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
					g.step()
				}
			}
		}()
		t.Cleanup(func() { close(stop); <-done })
		return q
	})
}

func closeQueue(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// gated is a Store whose writes wait for the test: step lets one write through, open all.
type gated struct {
	Store
	steps   chan struct{}
	once    sync.Once
	opened  chan struct{}
	mu      sync.Mutex
	batches [][]Record
	waiting atomic.Int32 // writes held at the gate now
}

func newGated(s Store) *gated {
	return &gated{Store: s, steps: make(chan struct{}), opened: make(chan struct{})}
}

func (g *gated) wait(ctx context.Context) error {
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-g.steps:
	case <-g.opened:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (g *gated) step() {
	select {
	case g.steps <- struct{}{}:
	case <-g.opened:
	default:
	}
}

func (g *gated) open() { g.once.Do(func() { close(g.opened) }) }

func (g *gated) Put(ctx context.Context, recs []Record) error {
	if err := g.wait(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(recs))
	g.mu.Unlock()
	return g.Store.Put(ctx, recs)
}

func (g *gated) AddEvaluation(ctx context.Context, ev Evaluation) error {
	if err := g.wait(ctx); err != nil {
		return err
	}
	return g.Store.AddEvaluation(ctx, ev)
}

func TestQueueFullDropsAndCounts(t *testing.T) {
	g := newGated(NewMemory(0))
	q := NewQueue(g, 4)
	// The drain goroutine takes the first record and waits in the backend; four more fill the
	// queue; the rest are dropped without blocking.
	if !q.Enqueue(record(0)) {
		t.Fatal("first record refused")
	}
	for deadline := time.Now().Add(10 * time.Second); g.waiting.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first write never reached the backend")
		}
	}
	taken := 1
	for i := 1; i <= 10; i++ {
		if q.Enqueue(record(i)) {
			taken++
		}
	}
	if taken != 5 || q.Dropped() != 6 {
		t.Fatalf("taken %d dropped %d, want 5 and 6", taken, q.Dropped())
	}
	if err := q.Put(context.Background(), []Record{record(20)}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("put on a full queue: %v, want ErrQueueFull", err)
	}
	if err := q.AddEvaluation(context.Background(), Evaluation{SpanID: spanID(1), EvaluatorKey: "k"}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("evaluation on a full queue: %v, want ErrQueueFull", err)
	}
	// Every queued record is readable before it is written.
	if got := listAll(t, q, Filter{}, 2); !slices.Equal(got, []string{spanID(4), spanID(3), spanID(2), spanID(1), spanID(0)}) {
		t.Errorf("listed while stalled: %v", got)
	}
	g.open()
	closeQueue(t, q)
	st := q.Stats()
	if st.Written != 5 || st.Dropped != 8 || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	if got := listAll(t, g.Store, Filter{}, 10); len(got) != 5 {
		t.Errorf("backend holds %v after close", got)
	}
	if q.Enqueue(record(30)) || q.Dropped() != 9 {
		t.Error("a closed queue took a record")
	}
}

func TestQueueWritesInBatches(t *testing.T) {
	g := newGated(NewMemory(0))
	q := NewQueue(g, 1000)
	for i := range 600 {
		if !q.Enqueue(record(i)) {
			t.Fatal("refused")
		}
	}
	g.open()
	closeQueue(t, q)
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, b := range g.batches {
		if len(b) > maxBatch {
			t.Errorf("batch of %d", len(b))
		}
		n += len(b)
	}
	if n != 600 || len(g.batches) > 10 {
		t.Errorf("%d records in %d batches", n, len(g.batches))
	}
}

// The writer's clock runs only while records wait; a lone record, and what a full batch
// leaves behind, are still written without a Close, each once its clock runs out.
func TestQueueWritesLessThanABatchWithoutClose(t *testing.T) {
	q := NewQueue(NewMemory(0), 1000)
	defer closeQueue(t, q)
	waitWritten := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for q.Stats().Written < want {
			if time.Now().After(deadline) {
				t.Fatalf("written %d of %d, the rest still queued", q.Stats().Written, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	q.Enqueue(record(0)) // into an idle queue
	waitWritten(1)
	time.Sleep(3 * flushInterval) // the clock has stopped: the queue is idle again
	q.Enqueue(record(1))
	waitWritten(2)
	for i := range maxBatch + 10 { // a whole batch and a remainder
		q.Enqueue(record(2 + i))
	}
	waitWritten(uint64(2 + maxBatch + 10))
}

func TestQueueCloseIsBoundedByContext(t *testing.T) {
	g := newGated(NewMemory(0)) // never opened: the backend hangs
	q := NewQueue(g, 10)
	for i := range 5 {
		q.Enqueue(record(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close of a stuck backend: %v", err)
	}
	if st := q.Stats(); st.Failed != 5 || st.Written != 0 {
		t.Errorf("stats %+v, want the 5 unwritten counted as failed", st)
	}
}

// failing refuses the first n writes.
type failing struct {
	Store
	mu sync.Mutex
	n  int
}

func (f *failing) Put(ctx context.Context, recs []Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return errors.New("database is locked")
	}
	return f.Store.Put(ctx, recs)
}

func TestQueueRetriesFailedWrites(t *testing.T) {
	f := &failing{Store: NewMemory(0), n: writeAttempts - 1}
	q := NewQueue(f, 10)
	q.Enqueue(record(1))
	closeQueue(t, q)
	if st := q.Stats(); st.Written != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}

	f = &failing{Store: NewMemory(0), n: writeAttempts}
	q = NewQueue(f, 10)
	q.Enqueue(record(1))
	closeQueue(t, q)
	if st := q.Stats(); st.Written != 0 || st.Failed != 1 {
		t.Errorf("stats %+v after every attempt failed", st)
	}
}

func TestQueueEvaluationOfQueuedSpan(t *testing.T) {
	g := newGated(NewMemory(0))
	q := NewQueue(g, 10)
	ctx := context.Background()
	q.Enqueue(record(1))
	if err := q.AddEvaluation(ctx, Evaluation{SpanID: spanID(1), EvaluatorKey: "k", Value: 2}); err != nil {
		t.Fatal(err)
	}
	if err := q.AddEvaluation(ctx, Evaluation{SpanID: spanID(2), EvaluatorKey: "k"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown span: %v", err)
	}
	r, err := q.Get(ctx, spanID(1))
	if err != nil || len(r.Evaluations) != 1 || r.Evaluations[0].Value != 2 {
		t.Fatalf("queued span read back: %v %+v", err, r)
	}
	g.open()
	closeQueue(t, q)
	r, err = g.Store.Get(ctx, spanID(1))
	if err != nil || len(r.Evaluations) != 1 {
		t.Fatalf("written span: %v %+v", err, r)
	}
}

// poisoned refuses every Put that holds a record of model "poison", as a database refuses a
// whole statement for one bad row.
type poisoned struct{ Store }

func (p poisoned) Put(ctx context.Context, recs []Record) error {
	for _, r := range recs {
		if r.Model == "poison" {
			return errors.New("invalid byte sequence")
		}
	}
	return p.Store.Put(ctx, recs)
}

func TestQueueOneBadRecordDoesNotLoseItsBatch(t *testing.T) {
	g := newGated(poisoned{NewMemory(0)})
	q := NewQueue(g, 100)
	for i := range 20 {
		r := record(i)
		if i == 7 {
			r.Model = "poison"
		}
		q.Enqueue(r)
	}
	g.open() // all 20 in one batch
	closeQueue(t, q)
	if st := q.Stats(); st.Written != 19 || st.Failed != 1 {
		t.Errorf("stats %+v, want 19 written and the poisoned one failed", st)
	}
	if got := listAll(t, g.Store, Filter{}, 50); len(got) != 19 || slices.Contains(got, spanID(7)) {
		t.Errorf("backend holds %v", got)
	}
}

// TestQueueReusesWrittenRecords: records handed over with EnqueueOwned are reused once
// written (NewRecord), and what the backend stored is unchanged by that reuse.
func TestQueueReusesWrittenRecords(t *testing.T) {
	m := NewMemory(0)
	const n = 2000
	q := NewQueue(m, n)
	for i := range n {
		r := NewRecord()
		if r.SpanID != "" || r.Tags != nil || r.Cost != nil {
			t.Fatalf("NewRecord returned a used record: %+v", r)
		}
		*r = record(i)
		r.Tags = []string{fmt.Sprint("t", i)}
		if !q.EnqueueOwned(r) {
			t.Fatalf("record %d refused", i)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		got, err := m.Get(context.Background(), spanID(i))
		if err != nil {
			t.Fatal(err)
		}
		want := record(i)
		if got.TraceID != want.TraceID || !slices.Equal(got.Tags, []string{fmt.Sprint("t", i)}) || *got.Cost != *want.Cost || string(got.Input) != string(want.Input) {
			t.Fatalf("span %d stored as %+v", i, got)
		}
	}
}

// countingMemory is a Memory with a Put of its own, as a wrapper around a backend has.
type countingMemory struct {
	*Memory
	puts atomic.Int64
}

func (c *countingMemory) Put(ctx context.Context, recs []Record) error {
	c.puts.Add(int64(len(recs)))
	return c.Memory.Put(ctx, recs)
}

// TestQueueCallsAWrappersPut: the queue writes a bare Memory without copying, but a backend
// that embeds one and has its own Put gets its Put called.
func TestQueueCallsAWrappersPut(t *testing.T) {
	c := &countingMemory{Memory: NewMemory(0)}
	q := NewQueue(c, 0)
	for i := range 10 {
		if !q.Enqueue(record(i)) {
			t.Fatalf("record %d refused", i)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.puts.Load(); n != 10 {
		t.Errorf("the wrapper's Put saw %d records, want 10", n)
	}
}
