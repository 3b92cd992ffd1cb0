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

// flushInterval is how long a record waits at most for a full batch before the writer takes
// what there is. Reads see queued records at once, so it bounds only how soon the backend
// (and another process reading a shared database) has them and how much a crash loses; the
// writer wakes on it at most 40 times a second while records wait (never when idle), against
// once per record when every record woke it. Above maxBatch/flushInterval (~10k records/s)
// full batches wake it first.
const flushInterval = 25 * time.Millisecond

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
//
// Queueing a record only stores it in a ring under a mutex. A channel send per record woke
// the idle writer for every request (a scheduler wake-up, often a futex call on each side),
// which cost more CPU than writing the record; the writer now wakes when a batch is ready,
// every flushInterval, and on Close.
type Queue struct {
	backend Store
	now     func() time.Time
	log     *slog.Logger // nil: failures are only counted

	mu     sync.Mutex
	closed bool
	// waiting are the operations queued and not yet taken by the writer, oldest first; it
	// holds at most the queue's size, past which writes are dropped. A ring rather than a map
	// keyed by span id: the request path stores without hashing or allocating, the writer
	// takes from the front, and the rare reads scan (at most the queue's size).
	waiting opRing
	// writing is the batch the writer took and is writing now: reads still see it, the
	// newest version of a span being the last with its id in writing then waiting.
	writing []queueOp
	// batchAt is the waiting count that wakes the writer: a batch, or the whole queue when
	// that is smaller.
	batchAt int
	ready   chan struct{} // a batch is waiting; buffered, one signal is enough
	first   chan struct{} // a record came into an empty queue: the writer starts its clock

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

// queueOp is one queued write: a record or an evaluation. Nobody changes either once queued.
type queueOp struct {
	rec  *Record
	eval *Evaluation
}

// opRing is a fixed-size FIFO of n operations from head.
type opRing struct {
	buf     []queueOp
	head, n int
}

// at is the i-th oldest operation.
func (r *opRing) at(i int) *queueOp {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return &r.buf[j]
}

func (r *opRing) full() bool { return r.n == len(r.buf) }

func (r *opRing) push(op queueOp) {
	*r.at(r.n) = op
	r.n++
}

// take moves up to max of the oldest operations to the end of to.
func (r *opRing) take(to []queueOp, max int) []queueOp {
	k := min(r.n, max)
	for i := range k {
		op := r.at(i)
		to = append(to, *op)
		*op = queueOp{} // the ring must not keep it alive once written
	}
	r.head = (r.head + k) % len(r.buf)
	r.n -= k
	return to
}

// NewQueue starts the goroutine that drains a queue of size entries (DefaultQueueSize when
// <= 0) into backend. The Queue owns backend: Close closes it.
func NewQueue(backend Store, size int) *Queue {
	if size <= 0 {
		size = DefaultQueueSize
	}
	q := &Queue{
		backend: backend,
		now:     time.Now,
		waiting: opRing{buf: make([]queueOp, size)},
		writing: make([]queueOp, 0, min(size, maxBatch)),
		batchAt: min(size, maxBatch),
		ready:   make(chan struct{}, 1),
		first:   make(chan struct{}, 1),
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
	// A pooled Record keeps r off the heap: once written it goes back to the pool.
	return q.EnqueueOwned(shallowCopy(r))
}

func shallowCopy(r Record) *Record {
	p := NewRecord()
	*p = r
	return p
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

// enqueue queues r, which the queue then owns, or counts it as dropped.
func (q *Queue) enqueue(r *Record) error {
	if err := normalizeInPlace(r, q.now); err != nil {
		q.dropped.Add(1)
		return err
	}
	return q.push(queueOp{rec: r})
}

// queuedOps calls each with every queued operation, the one being written included, newest
// first, until each returns false. Call with q.mu held.
func (q *Queue) queuedOps(each func(op *queueOp) bool) {
	for i := q.waiting.n - 1; i >= 0; i-- {
		if !each(q.waiting.at(i)) {
			return
		}
	}
	for i := len(q.writing) - 1; i >= 0; i-- {
		if !each(&q.writing[i]) {
			return
		}
	}
}

// queued is the newest queued version of spanID, nil when none is queued. Call with q.mu held.
func (q *Queue) queued(spanID string) *Record {
	var found *Record
	q.queuedOps(func(op *queueOp) bool {
		if op.rec != nil && op.rec.SpanID == spanID {
			found = op.rec
		}
		return found == nil
	})
	return found
}

// queuedEvaluations are the queued evaluations of spanID, oldest first. Call with q.mu held.
func (q *Queue) queuedEvaluations(spanID string) []Evaluation {
	var evs []Evaluation
	q.queuedOps(func(op *queueOp) bool {
		if op.eval != nil && op.eval.SpanID == spanID {
			evs = append(evs, *op.eval)
		}
		return true
	})
	slices.Reverse(evs)
	return evs
}

// push queues op, or counts it as dropped. Reads see it queued until it is written. Only the
// push that makes a batch wakes the writer.
func (q *Queue) push(op queueOp) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.dropped.Add(1)
		return ErrClosed
	}
	if q.waiting.full() {
		q.mu.Unlock()
		q.dropped.Add(1)
		return ErrQueueFull
	}
	q.waiting.push(op)
	n := q.waiting.n
	q.mu.Unlock()
	switch n {
	case q.batchAt:
		signal(q.ready)
	case 1:
		signal(q.first)
	}
	return nil
}

// signal sends on a channel buffered for one signal, unless one is pending already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Put queues copies of recs; it returns ErrQueueFull (or ErrClosed, ErrBadRecord) for those
// not taken.
func (q *Queue) Put(_ context.Context, recs []Record) error {
	var errs []error
	for i := range recs {
		r := shallowCopy(clone(recs[i]))
		if err := q.enqueue(r); err != nil {
			recycle(r)
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
	return q.push(queueOp{eval: &ev})
}

// Get returns the queued record if there is one, else the stored one, with every evaluation
// stored or queued.
func (q *Queue) Get(ctx context.Context, spanID string) (*Record, error) {
	q.mu.Lock()
	var queued *Record
	if p := q.queued(spanID); p != nil {
		r := clone(*p)
		queued = &r
	}
	evs := q.queuedEvaluations(spanID)
	q.mu.Unlock()
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
	for _, ev := range evs {
		if !slices.ContainsFunc(stored.Evaluations, func(e Evaluation) bool { return e.ID == ev.ID }) {
			stored.Evaluations = append(stored.Evaluations, ev)
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
	q.mu.Lock()
	var queued []Record
	ids := make(map[string]bool, q.waiting.n+len(q.writing))
	q.queuedOps(func(op *queueOp) bool {
		switch {
		case op.rec == nil:
		case ids[op.rec.SpanID]:
			// an older version, replaced by one queued after it
		default:
			ids[op.rec.SpanID] = true
			if qry.matches(op.rec) {
				queued = append(queued, clone(*op.rec))
			}
		}
		return true
	})
	q.mu.Unlock()
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
	q.mu.Lock()
	queued := q.waiting.n
	q.mu.Unlock()
	return QueueStats{
		Queued:  queued,
		Dropped: q.dropped.Load(),
		Failed:  q.failed.Load(),
		Written: q.written.Load(),
	}
}

// Dropped is the number of writes refused because the queue was full or closed.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// drain is the writer. Its clock runs only while records wait, so an idle queue never
// wakes it: a record that comes into an empty queue starts it, and so does a write that
// leaves less than a batch behind.
func (q *Queue) drain() {
	defer close(q.done)
	clock := time.NewTimer(flushInterval)
	clock.Stop()
	defer clock.Stop()
	running := false
	start := func() {
		if !running {
			clock.Reset(flushInterval)
			running = true
		}
	}
	for {
		var whole bool // write only whole batches: what is left waits for more or the clock
		select {
		case <-q.ready:
			whole = true
		case <-q.first:
			start()
			continue
		case <-clock.C:
			running = false
		case <-q.stop:
			// Nothing more can be queued now: write what is there, then return.
			for q.writeNext(false) && !q.aborted() {
			}
			return
		case <-q.abort:
			return
		}
		for q.writeNext(whole) && !q.aborted() {
		}
		if q.hasWaiting() {
			start()
		}
	}
}

func (q *Queue) hasWaiting() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting.n > 0
}

// writeNext writes the oldest batch queued, when there is one (a whole one if whole), and
// reports whether it wrote.
func (q *Queue) writeNext(whole bool) bool {
	q.mu.Lock()
	if q.waiting.n == 0 || whole && q.waiting.n < q.batchAt {
		q.mu.Unlock()
		return false
	}
	q.writing = q.waiting.take(q.writing[:0], maxBatch)
	batch := q.writing
	q.mu.Unlock()
	q.write(batch)
	q.mu.Lock()
	q.writing = q.writing[:0]
	q.mu.Unlock()
	// Readers reach queued records only through waiting and writing, under mu, and the
	// backend was given copies: the batch's records are nobody's now.
	for _, op := range batch {
		if op.rec != nil {
			recycle(op.rec)
		}
	}
	clear(batch) // the buffer is reused for the next batch, but must not keep these alive
	return true
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
			q.mu.Lock()
			q.failed.Add(uint64(q.waiting.n))
			q.mu.Unlock()
			q.closeErr = fmt.Errorf("flush span store queue: %w", ctx.Err())
		}
		q.abortNow() // nothing is in flight any more; releases abortCtx
		q.closeErr = errors.Join(q.closeErr, q.backend.Close())
	})
	return q.closeErr
}
