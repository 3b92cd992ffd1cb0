package spans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exportStats are the counters a Recorder reports; the export path updates them.
type exportStats struct {
	dropped      atomic.Int64
	exported     atomic.Int64
	exportErrors atomic.Int64
	lastError    atomic.Pointer[exportFailure]
}

type exportFailure struct{ err error }

// countingExporter counts what reaches the collector and what fails on the way.
type countingExporter struct {
	next  sdktrace.SpanExporter
	stats *exportStats
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.next.ExportSpans(ctx, spans); err != nil {
		e.stats.exportErrors.Add(1)
		e.stats.lastError.Store(&exportFailure{err: err})
		return err
	}
	e.stats.exported.Add(int64(len(spans)))
	return nil
}

func (e *countingExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// queueProcessor batches ended spans off the request path. Unlike sdktrace's
// BatchSpanProcessor it counts what a full queue drops, and its export calls are bounded so a
// dead collector stalls only its own goroutine.
//
// Ending a span only appends it to a slice under a mutex: a channel send per span woke the
// export goroutine for every span (a futex call each), which cost more CPU than recording the
// span. The exporter wakes when a batch is full, every batchDelay, or on flush and stop.
type queueProcessor struct {
	exporter sdktrace.SpanExporter
	stats    *exportStats
	max      int
	// recycle returns recorded spans to their pool once exported: the exporter keeps nothing.
	recycle bool

	mu      sync.Mutex
	pending []sdktrace.ReadOnlySpan

	full    chan struct{} // a batch is ready; buffered, one signal is enough
	flushes chan chan struct{}

	stopping atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// exportCtx is cancelled when Shutdown runs out of time, so an in-flight export (and the
	// exporter's retries) give up instead of outliving the caller's deadline.
	exportCtx    context.Context
	cancelExport context.CancelFunc
}

func newQueueProcessor(exporter sdktrace.SpanExporter, stats *exportStats, queueSize int) *queueProcessor {
	ctx, cancel := context.WithCancel(context.Background())
	p := &queueProcessor{
		exporter:     exporter,
		stats:        stats,
		max:          queueSize,
		pending:      make([]sdktrace.ReadOnlySpan, 0, min(queueSize, maxExportBatch)),
		full:         make(chan struct{}, 1),
		flushes:      make(chan chan struct{}),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		exportCtx:    ctx,
		cancelExport: cancel,
	}
	go p.run()
	return p
}

func (*queueProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd never blocks: a span that does not fit is counted and let go.
func (p *queueProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if p.stopping.Load() {
		p.stats.dropped.Add(1)
		releaseRecorded(s)
		return
	}
	p.mu.Lock()
	if len(p.pending) >= p.max {
		p.mu.Unlock()
		p.stats.dropped.Add(1)
		releaseRecorded(s)
		return
	}
	p.pending = append(p.pending, s)
	n := len(p.pending)
	p.mu.Unlock()
	if n == maxExportBatch {
		select {
		case p.full <- struct{}{}:
		default:
		}
	}
}

// ForceFlush exports everything queued when it is called.
func (p *queueProcessor) ForceFlush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case p.flushes <- reply:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued, then shuts the exporter down. Export failures are counted,
// not returned: only running out of ctx or a failing exporter shutdown is an error.
func (p *queueProcessor) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		close(p.stop)
	})
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancelExport()
		// The worker now fails its remaining exports fast; let the exporter go once it is done
		// rather than leak its connections.
		go func() {
			<-p.done
			shutdownCtx, cancel := context.WithTimeout(context.Background(), exportRequestLimit)
			defer cancel()
			_ = p.exporter.Shutdown(shutdownCtx)
		}()
		return ctx.Err()
	}
	p.cancelExport()
	// Spans whose OnEnd raced with the stop signal are lost; count them.
	p.mu.Lock()
	p.stats.dropped.Add(int64(len(p.pending)))
	for _, s := range p.pending {
		releaseRecorded(s)
	}
	clear(p.pending)
	p.pending = p.pending[:0]
	p.mu.Unlock()
	if err := p.exporter.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down span exporter: %w", err)
	}
	return nil
}

func (p *queueProcessor) run() {
	defer close(p.done)
	var taken []sdktrace.ReadOnlySpan
	// drain exports everything queued now, in batches of at most maxExportBatch. The slices
	// swap roles, so steady state allocates nothing.
	drain := func() {
		p.mu.Lock()
		taken, p.pending = p.pending, taken[:0]
		p.mu.Unlock()
		for i := 0; i < len(taken); i += maxExportBatch {
			batch := taken[i:min(len(taken), i+maxExportBatch)]
			ctx, cancel := context.WithTimeout(p.exportCtx, exportCallTimeout)
			_ = p.exporter.ExportSpans(ctx, batch) // counted by countingExporter
			cancel()
			if p.recycle {
				recycledSpans.putBatch(batch)
			}
		}
		clear(taken)
		taken = taken[:0]
	}
	tick := time.NewTicker(batchDelay)
	defer tick.Stop()
	for {
		select {
		case <-p.full:
			drain()
		case <-tick.C:
			drain()
		case reply := <-p.flushes:
			drain()
			close(reply)
		case <-p.stop:
			drain()
			return
		}
	}
}

// releaseRecorded returns s to its pool when it is a recorded span nobody else holds.
func releaseRecorded(s sdktrace.ReadOnlySpan) {
	if rs, ok := s.(*recordedSpan); ok {
		rs.release()
	}
}
