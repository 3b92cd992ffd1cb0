package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQueueFull is returned by Queue.Put and Queue.AddEvaluation when the write queue has no
// room: the write is dropped (and counted) rather than making the caller wait.
var ErrQueueFull = errors.New("span store queue full")

// ErrClosed is returned for writes to a closed Queue.
var ErrClosed = errors.New("span store closed")

// Queue sizes.
const (
	DefaultQueueSize = 4096
	// maxBatch bounds one backend write, so one slow batch never holds the whole queue.
	maxBatch = 256
)

// Write retries: a backend that fails a batch (a Postgres restart, a locked file) gets a few
// more tries before the batch is dropped and counted as failed.
const (
	writeAttempts    = 3
	writeRetryPause  = 200 * time.Millisecond
	writeCallTimeout = 10 * time.Second
)

// QueueStats are the queue's counters, for metrics.
type QueueStats struct {
	Queued  int    // operations waiting now
	Dropped uint64 // records and evaluations refused because the queue was full
	Failed  uint64 // records and evaluations the backend refused after every retry
	Written uint64 // records and evaluations written
}

// Queue is a Store that takes writes off the request path: Enqueue and Put only place records
// on a bounded queue that one goroutine drains into the backend in batches. Reads go to the
// backend and see queued-but-unwritten records at once, so a span can be read back right
// after it was posted. Close flushes the queue.
type Queue struct {
	backend Store
	ops     chan queueOp
	now     func() time.Time
	log     *slog.Logger // nil: failures are only counted

	mu     sync.RWMutex
	closed bool
	seq    uint64
	// pending are the queued records in queue order, so the newest version of a span is the
	// last with its id. A slice rather than a map keyed by span id: the request path appends
	// without hashing, the writer cuts off a prefix, and the rare reads scan (at most the
	// queue's size).
	pending []pendingRecord
	evals   map[string][]pendingEvaluation // span id -> queued evaluations

	dropped, failed, written atomic.Uint64
	stop                     chan struct{} // closed by Close: drain what is queued and return
	// abortCtx ends when Close's ctx ends: the writer returns now, and backend calls in flight
	// are cancelled through their contexts, which derive from it.
	abortCtx  context.Context
	abortNow  context.CancelFunc
	abort     <-chan struct{} // abortCtx.Done()
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	recBuf []Record // the drain goroutine's batch of records, reused
}

type queueOp struct {
	seq  uint64
	rec  *Record
	eval *Evaluation
}

// pendingRecord shares the Record of its queueOp: neither changes it.
type pendingRecord struct {
	seq uint64
	rec *Record
}

type pendingEvaluation struct {
	seq uint64
	ev  Evaluation
}

// NewQueue starts the goroutine that drains a queue of size entries (DefaultQueueSize when
// <= 0) into backend. The Queue owns backend: Close closes it.
func NewQueue(backend Store, size int) *Queue {
	if size <= 0 {
		size = DefaultQueueSize
	}
	q := &Queue{
		backend: backend,
		ops:     make(chan queueOp, size),
		now:     time.Now,
		evals:   make(map[string][]pendingEvaluation),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	q.abortCtx, q.abortNow = context.WithCancel(context.Background())
	q.abort = q.abortCtx.Done()
	go q.drain()
	return q
}

// Enqueue queues r for writing and reports whether it was taken; it never blocks. A refused
// record (full queue, closed store, no span id) is counted in Dropped. The queue takes r's
// slices and maps (Input, Tags, Variables, Cost) as they are, sparing the request path a copy:
// the caller must not change them afterwards.
func (q *Queue) Enqueue(r Record) bool {
	return q.enqueue(&r) == nil
}

// EnqueueOwned is Enqueue for a record the caller hands over whole, sparing the request path
// a copy of it: the queue keeps r itself, reuses it once written (see NewRecord), and the
// caller must not touch it afterwards.
func (q *Queue) EnqueueOwned(r *Record) bool {
	err := q.enqueue(r)
	if err != nil {
		recycle(r)
	}
	return err == nil
}

// recordPool holds the Records the queue has written, for NewRecord: a run's record costs
// no allocation of its own.
var recordPool = sync.Pool{New: func() any { return new(Record) }}

// NewRecord returns an empty Record to fill and hand to EnqueueOwned.
func NewRecord() *Record { return recordPool.Get().(*Record) }

// recycle returns a record nobody refers to any more to the pool, emptied so that it pins
// nothing.
func recycle(r *Record) {
	*r = Record{}
	recordPool.Put(r)
}

func (q *Queue) enqueue(r *Record) error {
	if err := normalizeInPlace(r, q.now); err != nil {
		q.dropped.Add(1)
		return err
	}
	return q.push(queueOp{rec: r}, func(seq uint64) {
		q.pending = append(q.pending, pendingRecord{seq: seq, rec: r})
	})
}

// queued is the newest queued version of spanID, nil when none is queued. Call with q.mu held.
func (q *Queue) queued(spanID string) *Record {
	for i := len(q.pending) - 1; i >= 0; i-- {
		if q.pending[i].rec.SpanID == spanID {
			return q.pending[i].rec
		}
	}
	return nil
}

// push queues op, or counts it as dropped, and calls keep under the lock once it is taken,
// so that reads see it queued until it is written.
func (q *Queue) push(op queueOp, keep func(seq uint64)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.dropped.Add(1)
		return ErrClosed
	}
	q.seq++
	op.seq = q.seq
	select {
	case q.ops <- op:
	default:
		q.dropped.Add(1)
		return ErrQueueFull
	}
	keep(op.seq)
	return nil
}

// Put queues copies of recs; it returns ErrQueueFull (or ErrClosed, ErrBadRecord) for those
// not taken.
func (q *Queue) Put(_ context.Context, recs []Record) error {
	var errs []error
	for i := range recs {
		r := clone(recs[i])
		if err := q.enqueue(&r); err != nil {
			errs = append(errs, fmt.Errorf("span %q: %w", recs[i].SpanID, err))
		}
	}
	return errors.Join(errs...)
}

// AddEvaluation queues ev after checking that its span exists (queued or stored).
func (q *Queue) AddEvaluation(ctx context.Context, ev Evaluation) error {
	ev, err := normalizeEvaluation(ev, q.now())
	if err != nil {
		return err
	}
	// Get counts the stored and the queued evaluations, each once.
	r, err := q.Get(ctx, ev.SpanID)
	if err != nil {
		return err
	}
	if len(r.Evaluations) >= MaxEvaluationsPerSpan {
		return ErrTooManyEvaluations
	}
	return q.push(queueOp{eval: &ev}, func(seq uint64) {
		q.evals[ev.SpanID] = append(q.evals[ev.SpanID], pendingEvaluation{seq: seq, ev: ev})
	})
}

// Get returns the queued record if there is one, else the stored one, with every evaluation
// stored or queued.
func (q *Queue) Get(ctx context.Context, spanID string) (*Record, error) {
	q.mu.RLock()
	var queued *Record
	if p := q.queued(spanID); p != nil {
		r := clone(*p)
		queued = &r
	}
	evs := slices.Clone(q.evals[spanID])
	q.mu.RUnlock()
	stored, err := q.backend.Get(ctx, spanID)
	switch {
	case err == nil && queued == nil:
	case err == nil:
		queued.Evaluations = stored.Evaluations
		stored = queued
	case errors.Is(err, ErrNotFound) && queued != nil:
		stored = queued
	default:
		return nil, err
	}
	// An evaluation may have been written between the two reads above: skip those the
	// backend already returned.
	for _, pe := range evs {
		if !slices.ContainsFunc(stored.Evaluations, func(e Evaluation) bool { return e.ID == pe.ev.ID }) {
			stored.Evaluations = append(stored.Evaluations, pe.ev)
		}
	}
	return stored, nil
}

// List merges the queued records matching f into the backend's page.
func (q *Queue) List(ctx context.Context, f Filter) (Page, error) {
	qry, err := prepare(f)
	if err != nil {
		return Page{}, err
	}
	q.mu.RLock()
	var queued []Record
	ids := make(map[string]bool, len(q.pending))
	for i := len(q.pending) - 1; i >= 0; i-- {
		p := q.pending[i]
		if ids[p.rec.SpanID] {
			continue // an older version, replaced by one queued after it
		}
		ids[p.rec.SpanID] = true
		if qry.matches(p.rec) {
			queued = append(queued, clone(*p.rec))
		}
	}
	q.mu.RUnlock()
	if len(ids) == 0 {
		return q.backend.List(ctx, f)
	}
	// The backend may hold older versions of queued records: skip them, reading on until
	// limit+1 others are found or the backend has no more.
	var stored []Record
	bf := f
	bf.Limit = qry.limit + 1
	for len(stored) <= qry.limit {
		page, err := q.backend.List(ctx, bf)
		if err != nil {
			return Page{}, err
		}
		for _, r := range page.Records {
			if !ids[r.SpanID] {
				stored = append(stored, r)
			}
		}
		if !page.HasMore {
			break
		}
		bf.Cursor = page.NextCursor
	}
	all := append(stored, queued...)
	slices.SortFunc(all, func(a, b Record) int { return positionOf(&b).compare(positionOf(&a)) })
	if len(all) > qry.limit+1 {
		all = all[:qry.limit+1]
	}
	return qry.page(all), nil
}

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{
		Queued:  len(q.ops),
		Dropped: q.dropped.Load(),
		Failed:  q.failed.Load(),
		Written: q.written.Load(),
	}
}

// Dropped is the number of writes refused because the queue was full or closed.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

func (q *Queue) drain() {
	defer close(q.done)
	batch := make([]queueOp, 0, maxBatch)
	for {
		select {
		case op := <-q.ops:
			q.write(q.fill(append(batch[:0], op)))
		case <-q.stop:
			// Nothing more can be queued now: write what is there, then return.
			for {
				batch = q.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				q.write(batch)
			}
		case <-q.abort:
			return
		}
	}
}

// fill adds what is queued now to batch, up to maxBatch, without waiting.
func (q *Queue) fill(batch []queueOp) []queueOp {
	for len(batch) < maxBatch {
		select {
		case op := <-q.ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// write stores one batch: records first, then evaluations, which name spans queued before
// them and so in this batch or an earlier one.
func (q *Queue) write(batch []queueOp) {
	recs := q.recBuf[:0]
	var evals []Evaluation
	for _, op := range batch {
		if op.rec != nil {
			recs = append(recs, *op.rec)
		} else {
			evals = append(evals, *op.eval)
		}
	}
	if len(recs) > 0 {
		q.writeRecords(recs)
	}
	// The buffer is reused for the next batch, but must not keep these records alive.
	clear(recs)
	q.recBuf = recs[:0]
	for _, ev := range evals {
		q.count(1, q.retry(func(ctx context.Context) error {
			err := q.backend.AddEvaluation(ctx, ev)
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTooManyEvaluations) {
				return permanent{err}
			}
			return err
		}))
	}
	last := batch[len(batch)-1].seq
	q.mu.Lock()
	// Records are queued and drained in seq order: the written ones are a prefix of pending.
	written := 0
	for written < len(q.pending) && q.pending[written].seq <= last {
		written++
	}
	if written > 0 {
		n := copy(q.pending, q.pending[written:])
		clear(q.pending[n:])
		q.pending = q.pending[:n]
	}
	for _, op := range batch {
		if op.eval != nil {
			id := op.eval.SpanID
			q.evals[id] = slices.DeleteFunc(q.evals[id], func(pe pendingEvaluation) bool { return pe.seq <= last })
			if len(q.evals[id]) == 0 {
				delete(q.evals, id)
			}
		}
	}
	q.mu.Unlock()
	// Readers reach queued records only through pending, under mu, and the backend was given
	// copies: the batch's records are nobody's now.
	for _, op := range batch {
		if op.rec != nil {
			recycle(op.rec)
		}
	}
}

// writeRecords puts recs with retries; when that fails it writes them one by one, so that a
// record the backend refuses does not take the rest of its batch with it. After
// maxSingleFailures failures in a row the backend itself is taken to be down.
func (q *Queue) writeRecords(recs []Record) {
	var err error
	if m, ok := q.backend.(*Memory); ok {
		// The queue's records are normalised copies nobody changes: the backend may keep them.
		// It does not block or fail for a while, so it needs no deadline and no retries. Only
		// the Memory itself: a type embedding one may have its own Put, which must be called.
		err = m.putOwned(recs)
	} else {
		err = q.retry(func(ctx context.Context) error { return q.backend.Put(ctx, recs) })
	}
	if err == nil || len(recs) == 1 || q.aborted() {
		q.count(len(recs), err)
		return
	}
	failures := 0
	for i := range recs {
		if failures >= maxSingleFailures {
			q.count(len(recs)-i, err)
			return
		}
		ctx, cancel := q.writeContext()
		err = q.backend.Put(ctx, recs[i:i+1])
		cancel()
		q.count(1, err)
		if err != nil {
			failures++
		} else {
			failures = 0
		}
	}
}

const maxSingleFailures = 3

// aborted reports whether Close stopped waiting for the queue.
func (q *Queue) aborted() bool {
	select {
	case <-q.abort:
		return true
	default:
		return false
	}
}

// writeContext bounds one backend call, and ends it when Close gives up waiting (without a
// goroutine per call watching for that: the context derives from abortCtx).
func (q *Queue) writeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(q.abortCtx, writeCallTimeout)
}

// permanent marks an error that a retry cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func (q *Queue) retry(write func(context.Context) error) error {
	var err error
	for attempt := 0; attempt < writeAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(writeRetryPause << (attempt - 1)):
			case <-q.abort:
				return err
			}
		}
		ctx, cancel := q.writeContext()
		err = write(ctx)
		cancel()
		var p permanent
		if err == nil || errors.As(err, &p) {
			return err
		}
	}
	return err
}

func (q *Queue) count(n int, err error) {
	if err != nil {
		q.failed.Add(uint64(n))
		if q.log != nil {
			q.log.Warn("span store write failed; records lost", "records", n, "error", err)
		}
	} else {
		q.written.Add(uint64(n))
	}
}

// Close stops taking writes, writes what is queued (until ctx ends: the rest is counted as
// failed) and closes the backend.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.stop)
		select {
		case <-q.done:
		case <-ctx.Done():
			q.abortNow()
			<-q.done
			q.failed.Add(uint64(len(q.ops)))
			q.closeErr = fmt.Errorf("flush span store queue: %w", ctx.Err())
		}
		q.abortNow() // nothing is in flight any more; releases abortCtx
		q.closeErr = errors.Join(q.closeErr, q.backend.Close())
	})
	return q.closeErr
}
