package spans

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newSyncRecorder records into an in-memory exporter, one span at a time.
func newSyncRecorder(t *testing.T, o Options) (*Recorder, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	rec := NewWithExporter(exp, o, true)
	t.Cleanup(func() { _ = rec.Shutdown(context.Background()) })
	return rec, exp
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func spanByName(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one span named %q, got %d (spans: %v)", name, len(found), spanNames(spans))
	}
	return found[0]
}

func spanNames(spans tracetest.SpanStubs) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	sort.Strings(names)
	return names
}

// allAttributeText is every attribute value (spans and resources) as text, for leak checks.
func allAttributeText(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Name)
		for _, kv := range s.Attributes {
			b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
		}
		if s.Resource != nil {
			for _, kv := range s.Resource.Attributes() {
				b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
			}
		}
		for _, ev := range s.Events {
			for _, kv := range ev.Attributes {
				b.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
			}
		}
		b.WriteString(s.Status.Description + "\n")
	}
	return b.String()
}

// keptExporter is an in-memory exporter whose Shutdown keeps the spans, so a test can look at
// what Shutdown flushed (tracetest's clears them).
type keptExporter struct {
	mu    sync.Mutex
	spans tracetest.SpanStubs
}

func (e *keptExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, tracetest.SpanStubsFromReadOnlySpans(spans)...)
	return nil
}

func (*keptExporter) Shutdown(context.Context) error { return nil }

func (e *keptExporter) Spans() tracetest.SpanStubs {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(tracetest.SpanStubs(nil), e.spans...)
}
