package spans

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestRecycledSpansExportIntact records many runs concurrently through tracegate's OTLP/HTTP
// exporter, whose spans go back to the pool after each export, and checks on the collector
// that every span arrived once with its own attributes and parent: a span reused before its
// export would show up with another run's model or ids.
func TestRecycledSpansExportIntact(t *testing.T) {
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	rec, err := New(context.Background(), Options{Endpoint: srv.URL, QueueSize: 1 << 14})
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := rec.processor.(*queueProcessor); !ok || !q.recycle {
		t.Fatalf("the OTLP/HTTP exporter must recycle spans: %T", rec.processor)
	}
	const workers, perWorker = 4, 300
	runs := make([][]string, workers) // span id of each run, by worker
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				model := fmt.Sprintf("m-%d-%d", w, i)
				_, run, err := rec.StartRun(context.Background(), RunStart{Name: "chat " + model, Model: model})
				if err != nil {
					t.Error(err)
					return
				}
				run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: model}).End(&llm.Response{ID: "r-" + model}, nil)
				run.End(RunEnd{Response: &llm.Response{ID: "r-" + model}})
				runs[w] = append(runs[w], run.SpanID())
			}
		})
	}
	wg.Wait()
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.Dropped() != 0 || rec.ExportErrors() != 0 {
		t.Fatalf("dropped %d, export errors %d", rec.Dropped(), rec.ExportErrors())
	}

	type got struct{ name, model, respID, parent string }
	bySpan := map[string]got{}
	col.mu.Lock()
	for _, req := range col.requests {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					g := got{name: s.Name}
					for _, kv := range s.Attributes {
						switch kv.Key {
						case "gen_ai.request.model":
							g.model = kv.Value.GetStringValue()
						case "gen_ai.response.id":
							g.respID = kv.Value.GetStringValue()
						}
					}
					if len(s.ParentSpanId) == 8 {
						g.parent = FormatSpanID(trace.SpanID(s.ParentSpanId))
					}
					id := FormatSpanID(trace.SpanID(s.SpanId))
					if _, dup := bySpan[id]; dup {
						t.Errorf("span %s exported twice", id)
					}
					bySpan[id] = g
				}
			}
		}
	}
	col.mu.Unlock()
	if len(bySpan) != 2*workers*perWorker {
		t.Fatalf("%d spans exported, want %d", len(bySpan), 2*workers*perWorker)
	}
	children := map[string]got{}
	for _, g := range bySpan {
		if g.parent != "" {
			children[g.parent] = g
		}
	}
	for w, ids := range runs {
		for i, id := range ids {
			model := fmt.Sprintf("m-%d-%d", w, i)
			run, attempt := bySpan[id], children[id]
			if run.name != "chat "+model || run.model != model || run.respID != "r-"+model {
				t.Fatalf("run %s: %+v, want model %s", id, run, model)
			}
			if attempt.name != "chat "+model || attempt.model != model || attempt.respID != "r-"+model {
				t.Fatalf("attempt of %s: %+v, want model %s", id, attempt, model)
			}
		}
	}
}

// TestKeepingExportersGetUnrecycledSpans: exporters that may keep the spans they are given
// (the tests' in-memory exporter, anything unknown) never see a span reused.
func TestKeepingExportersGetUnrecycledSpans(t *testing.T) {
	if forgetsSpans(tracetest.NewInMemoryExporter()) || forgetsSpans(&keptExporter{}) {
		t.Error("an exporter that keeps spans would see them reused")
	}
	if !forgetsSpans(tracetest.NewNoopExporter()) {
		t.Error("the noop exporter keeps nothing")
	}
	exp := &keptExporter{}
	rec := NewWithExporter(exp, Options{}, false)
	for range 50 {
		recordOneRun(t, rec)
	}
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range exp.Spans() {
		if s.Name != "run export" && s.Name != "chat mock-1" {
			t.Fatalf("span %q: a kept span was reused", s.Name)
		}
	}
	if n := len(exp.Spans()); n != 100 {
		t.Errorf("%d spans, want 100", n)
	}
}

func TestAttemptNamesCachedAndBounded(t *testing.T) {
	var c nameCache
	for i := range maxCachedNames + 50 {
		model := fmt.Sprintf("model-%d", i)
		if got := c.name("", model); got != "chat "+model {
			t.Fatalf("%q", got)
		}
		if got := c.name(OperationEmbeddings, model); got != "embeddings "+model {
			t.Fatalf("%q", got)
		}
	}
	if n := c.c.Len(); n != maxCachedNames {
		t.Errorf("%d cached names, want the bound %d", n, maxCachedNames)
	}
	if c.name("", "") != "chat" || c.name("", "model-0") != "chat model-0" {
		t.Error("cached names")
	}
	if n := testing.AllocsPerRun(100, func() { _ = c.name("", "model-1") }); n != 0 {
		t.Errorf("%v allocations for a cached name", n)
	}
}
