package spans

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func recordRuns(t testing.TB, rec *Recorder, n int) {
	t.Helper()
	for range n {
		_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run x", Slug: "x"})
		if err != nil {
			t.Fatal(err)
		}
		run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "m"}).End(&llm.Response{ID: "r"}, nil)
		run.End(RunEnd{})
	}
}

func TestShutdownFlushesQueuedSpans(t *testing.T) {
	exp := &keptExporter{}
	rec := NewWithExporter(exp, Options{}, false)
	recordRuns(t, rec, 300) // 600 spans: more than one batch, less than the queue
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(exp.Spans()); n != 600 {
		t.Errorf("exported %d spans, want 600", n)
	}
	if rec.Exported() != 600 || rec.Dropped() != 0 || rec.ExportErrors() != 0 {
		t.Errorf("exported/dropped/errors = %d/%d/%d, want 600/0/0", rec.Exported(), rec.Dropped(), rec.ExportErrors())
	}
	// After shutdown, runs still work and their spans are not exported.
	recordRuns(t, rec, 1)
	if n := len(exp.Spans()); n != 600 {
		t.Errorf("spans after shutdown were exported: %d", n)
	}
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestForceFlushExportsQueuedSpans(t *testing.T) {
	exp := &keptExporter{}
	rec := NewWithExporter(exp, Options{}, false)
	defer rec.Shutdown(context.Background())
	recordRuns(t, rec, 3)
	if err := rec.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if n := len(exp.Spans()); n != 6 {
		t.Errorf("after ForceFlush %d spans exported, want 6", n)
	}
}

// gatedExporter blocks its first export until released, so a test can fill the queue.
type gatedExporter struct {
	keptExporter
	entered chan struct{}
	release chan struct{}
	first   bool
}

func (e *gatedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if !e.first {
		e.first = true
		close(e.entered)
		<-e.release
	}
	return e.keptExporter.ExportSpans(ctx, spans)
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	exp := &gatedExporter{entered: make(chan struct{}), release: make(chan struct{})}
	rec := NewWithExporter(exp, Options{QueueSize: 4}, false)
	recordRuns(t, rec, 1) // 2 spans
	flushed := make(chan error, 1)
	go func() { flushed <- rec.ForceFlush(context.Background()) }()
	<-exp.entered // the export goroutine is now stuck in the exporter

	recordRuns(t, rec, 10) // 20 spans: 4 fit the queue, 16 are dropped
	if got := rec.Dropped(); got != 16 {
		t.Errorf("Dropped() = %d while the exporter is stuck, want 16", got)
	}
	close(exp.release)
	if err := <-flushed; err != nil {
		t.Errorf("ForceFlush: %v", err)
	}
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if rec.Exported() != 6 || len(exp.Spans()) != 6 {
		t.Errorf("Exported() = %d, exporter has %d, want 6 (2 + the 4 queued)", rec.Exported(), len(exp.Spans()))
	}
	if rec.Exported()+rec.Dropped() != 22 {
		t.Errorf("exported %d + dropped %d != 22 recorded", rec.Exported(), rec.Dropped())
	}
}

type failingExporter struct{ err error }

func (e failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return e.err }
func (failingExporter) Shutdown(context.Context) error                               { return nil }

func TestExportFailuresAreCounted(t *testing.T) {
	boom := errors.New("collector said no")
	for _, sync := range []bool{false, true} {
		rec := NewWithExporter(failingExporter{err: boom}, Options{}, sync)
		if rec.LastExportError() != nil {
			t.Errorf("LastExportError before any export = %v", rec.LastExportError())
		}
		recordRuns(t, rec, 2)
		if err := rec.Shutdown(context.Background()); err != nil {
			t.Errorf("sync=%v: Shutdown returned %v; export failures are counted, not returned", sync, err)
		}
		wantErrors := int64(1) // one batch
		if sync {
			wantErrors = 4 // one export per span
		}
		if rec.ExportErrors() != wantErrors || rec.Exported() != 0 {
			t.Errorf("sync=%v: ExportErrors()=%d Exported()=%d, want %d/0", sync, rec.ExportErrors(), rec.Exported(), wantErrors)
		}
		if !errors.Is(rec.LastExportError(), boom) {
			t.Errorf("sync=%v: LastExportError() = %v, want %v", sync, rec.LastExportError(), boom)
		}
	}
}

// stuckExporter never returns until its context ends.
type stuckExporter struct{ shutdown chan struct{} }

func (stuckExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	<-ctx.Done()
	return ctx.Err()
}
func (e stuckExporter) Shutdown(context.Context) error { close(e.shutdown); return nil }

func TestShutdownHonoursItsDeadline(t *testing.T) {
	exp := stuckExporter{shutdown: make(chan struct{})}
	rec := NewWithExporter(exp, Options{}, false)
	recordRuns(t, rec, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rec.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline error", err)
	}
	// The abandoned export is cancelled, so the exporter is still shut down behind the caller.
	<-exp.shutdown
	if rec.ExportErrors() != 1 {
		t.Errorf("ExportErrors() = %d, want the cancelled export counted", rec.ExportErrors())
	}
}

func TestConcurrentRunsAndAttempts(t *testing.T) {
	exp := &keptExporter{}
	rec := NewWithExporter(exp, Options{}, false)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run c", Slug: "c"})
				if err != nil {
					t.Error(err)
					return
				}
				var attempts sync.WaitGroup
				for range 2 { // hedged attempts share the run
					attempts.Go(func() {
						a := run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "m"})
						a.FirstChunk()
						a.End(&llm.Response{ID: "r"}, nil)
					})
				}
				run.SetModel("m")
				attempts.Wait()
				run.End(RunEnd{Response: &llm.Response{}})
			}
		})
	}
	wg.Wait()
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.Spans()
	if len(spans) != 8*50*3 || rec.Exported() != 8*50*3 {
		t.Fatalf("exported %d (counter %d), want %d", len(spans), rec.Exported(), 8*50*3)
	}
	numbers := map[int64]int{}
	for _, s := range spans {
		if n, ok := attrMap(s.Attributes)["tracegate.attempt"].(int64); ok {
			numbers[n]++
		}
	}
	if numbers[1] != 400 || numbers[2] != 400 {
		t.Errorf("attempt numbers %v, want 400 each of 1 and 2", numbers)
	}
}
