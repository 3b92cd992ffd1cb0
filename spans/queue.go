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
type queueProcessor struct {
	exporter sdktrace.SpanExporter
	stats    *exportStats
	queue    chan sdktrace.ReadOnlySpan
	flushes  chan chan struct{}

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
		queue:        make(chan sdktrace.ReadOnlySpan, queueSize),
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
		return
	}
	select {
	case p.queue <- s:
	default:
		p.stats.dropped.Add(1)
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
	for {
		select {
		case <-p.queue:
			p.stats.dropped.Add(1)
			continue
		default:
		}
		break
	}
	if err := p.exporter.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down span exporter: %w", err)
	}
	return nil
}

func (p *queueProcessor) run() {
	defer close(p.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, maxExportBatch)
	timer := time.NewTimer(batchDelay)
	timer.Stop()
	armed := false
	export := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(p.exportCtx, exportCallTimeout)
		_ = p.exporter.ExportSpans(ctx, batch) // counted by countingExporter
		cancel()
		clear(batch)
		batch = batch[:0]
	}
	// drain moves what is queued now into batches, exporting each full one.
	drain := func() {
		for {
			select {
			case s := <-p.queue:
				batch = append(batch, s)
				if len(batch) == maxExportBatch {
					export()
				}
			default:
				export()
				return
			}
		}
	}
	for {
		select {
		case s := <-p.queue:
			batch = append(batch, s)
			if len(batch) >= maxExportBatch {
				export()
			} else if !armed {
				timer.Reset(batchDelay)
				armed = true
			}
		case <-timer.C:
			armed = false
			export()
		case reply := <-p.flushes:
			drain()
			close(reply)
		case <-p.stop:
			timer.Stop()
			drain()
			return
		}
	}
}
