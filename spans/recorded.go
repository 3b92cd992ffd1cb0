package spans

import (
	"context"
	"sync"
	"time"

	"github.com/tracegate/tracegate/internal/intern"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordedSpan is a run or attempt span recorded by tracegate itself rather than by the SDK.
// Through the SDK a run and its attempt cost about 30 allocations and most of the span work
// per request: every SetAttributes regrows and re-normalises the span's attribute list, End
// snapshots and deduplicates it, and the start options copy the list once more. A
// recordedSpan is one pooled struct whose attribute list is appended to in place and handed,
// as a ReadOnlySpan, to the same span processor (the export queue) the SDK's spans go to, so
// the exporters, the OTLP encoder and the tests see no difference.
//
// Keys are set once, except through Run.addAttributes, which replaces a key already set (what
// the SDK's deduplication did, last value wins). The SDK spans' limits (limits.go) are kept:
// 128 attributes a span, the rest counted in DroppedAttributes, and string values cut.
type recordedSpan struct {
	// ReadOnlySpan is never set: embedding it provides the interface's unexported method. Every
	// exported method is defined below.
	sdktrace.ReadOnlySpan

	name       string
	kind       trace.SpanKind
	sc, parent trace.SpanContext
	start, end time.Time
	attrs      []attribute.KeyValue
	dropped    int
	status     sdktrace.Status
	children   int
	res        *resource.Resource
	scope      instrumentation.Scope
}

// maxSpanAttributes is the SDK's default AttributeCountLimit, the one the SDK's spans get.
const maxSpanAttributes = MaxAttributesPerSpan

// recycledSpans holds exported spans for reuse. They are taken by request goroutines and
// given back, a batch at a time, by the one export goroutine. A sync.Pool made every take a
// steal from the exporter's shard of the pool, contended with the exporter's puts there:
// about 3% of a run's CPU at concurrency 16. A mutex-guarded stack costs one short lock per
// span taken and one per batch given back.
var recycledSpans spanFreeList

// maxRecycledSpans bounds the spans kept for reuse (a few MB with their attribute lists): two
// export batches, which is what a full exporter has in hand. Beyond it spans are left to the
// garbage collector.
const maxRecycledSpans = 2 * maxExportBatch

type spanFreeList struct {
	mu    sync.Mutex
	spans []*recordedSpan
}

func (l *spanFreeList) get() *recordedSpan {
	l.mu.Lock()
	if n := len(l.spans); n > 0 {
		s := l.spans[n-1]
		l.spans[n-1] = nil
		l.spans = l.spans[:n-1]
		l.mu.Unlock()
		return s
	}
	l.mu.Unlock()
	return &recordedSpan{attrs: make([]attribute.KeyValue, 0, 32)}
}

// putBatch takes back the recorded spans of an exported batch; others are left alone.
func (l *spanFreeList) putBatch(batch []sdktrace.ReadOnlySpan) {
	for _, s := range batch {
		if rs, ok := s.(*recordedSpan); ok {
			rs.reset()
		}
	}
	l.mu.Lock()
	for _, s := range batch {
		if len(l.spans) >= maxRecycledSpans {
			break
		}
		if rs, ok := s.(*recordedSpan); ok {
			l.spans = append(l.spans, rs)
		}
	}
	l.mu.Unlock()
}

func (r *Recorder) newRecordedSpan(name string, kind trace.SpanKind, sc, parent trace.SpanContext, start time.Time) *recordedSpan {
	s := recycledSpans.get()
	s.name, s.kind, s.sc, s.parent, s.start = name, kind, sc, parent, start
	s.res, s.scope = r.resource, r.scope
	return s
}

// set replaces the value of a key already set, else appends it.
func (s *recordedSpan) set(kv attribute.KeyValue) {
	for i := range s.attrs {
		if s.attrs[i].Key == kv.Key {
			s.attrs[i] = kv
			return
		}
	}
	s.attrs = append(s.attrs, kv)
}

// finish ends the span at end and hands it to the processor; s must not be touched afterwards.
func (r *Recorder) finish(s *recordedSpan, end time.Time) {
	s.end = end
	s.attrs = boundAttributes(s.attrs)
	if len(s.attrs) > maxSpanAttributes {
		s.dropped = len(s.attrs) - maxSpanAttributes
		clear(s.attrs[maxSpanAttributes:])
		s.attrs = s.attrs[:maxSpanAttributes]
	}
	r.processor.OnEnd(s)
}

// boundAttributes drops invalid attributes and cuts long string values, in place. It only
// reads a list that needs neither, which is nearly every one: rewriting each attribute (a
// pointer-carrying struct, so with write barriers while the GC runs) was a third of the cost
// of recording a passthrough run.
func boundAttributes(attrs []attribute.KeyValue) []attribute.KeyValue {
	for i := range attrs {
		if needsBounding(&attrs[i]) {
			kept := attrs[:i]
			for _, kv := range attrs[i:] {
				if kv.Valid() {
					kept = append(kept, boundedValue(kv))
				}
			}
			clear(attrs[len(kept):])
			return kept
		}
	}
	return attrs
}

func needsBounding(kv *attribute.KeyValue) bool {
	return !kv.Valid() || (kv.Value.Type() == attribute.STRING && len(kv.Value.AsString()) > MaxAttributeValueBytes)
}

// release returns an exported span for reuse.
func (s *recordedSpan) release() {
	recycledSpans.putBatch([]sdktrace.ReadOnlySpan{s})
}

// reset readies s for reuse.
func (s *recordedSpan) reset() {
	clear(s.attrs) // drop the strings they point at
	*s = recordedSpan{attrs: s.attrs[:0]}
}

func (s *recordedSpan) Name() string                     { return s.name }
func (s *recordedSpan) SpanContext() trace.SpanContext   { return s.sc }
func (s *recordedSpan) Parent() trace.SpanContext        { return s.parent }
func (s *recordedSpan) SpanKind() trace.SpanKind         { return s.kind }
func (s *recordedSpan) StartTime() time.Time             { return s.start }
func (s *recordedSpan) EndTime() time.Time               { return s.end }
func (s *recordedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s *recordedSpan) Links() []sdktrace.Link           { return nil }
func (s *recordedSpan) Events() []sdktrace.Event         { return nil }
func (s *recordedSpan) Status() sdktrace.Status          { return s.status }
func (s *recordedSpan) InstrumentationScope() instrumentation.Scope {
	return s.scope
}

// InstrumentationLibrary is the deprecated name of InstrumentationScope, still in the interface.
//
//lint:ignore SA1019 ReadOnlySpan still requires the method
func (s *recordedSpan) InstrumentationLibrary() instrumentation.Library {
	return s.scope
}
func (s *recordedSpan) Resource() *resource.Resource { return s.res }
func (s *recordedSpan) DroppedAttributes() int       { return s.dropped }
func (s *recordedSpan) DroppedLinks() int            { return 0 }
func (s *recordedSpan) DroppedEvents() int           { return 0 }
func (s *recordedSpan) ChildSpanCount() int          { return s.children }

// spanHandle is the trace.Span the context StartRun returns carries, without the SDK span
// behind it: trace.SpanContextFromContext and child spans started from that context see the
// run span as their parent.
//
// It does nothing else, as noop.Span, which it does not embed: that carries a span context
// of its own, 80 bytes of every Run.
type spanHandle struct {
	embedded.Span
	run *Run
}

func (h *spanHandle) SpanContext() trace.SpanContext        { return h.run.sc }
func (*spanHandle) IsRecording() bool                       { return false }
func (*spanHandle) End(...trace.SpanEndOption)              {}
func (*spanHandle) AddEvent(string, ...trace.EventOption)   {}
func (*spanHandle) AddLink(trace.Link)                      {}
func (*spanHandle) RecordError(error, ...trace.EventOption) {}
func (*spanHandle) SetStatus(codes.Code, string)            {}
func (*spanHandle) SetName(string)                          {}
func (*spanHandle) SetAttributes(...attribute.KeyValue)     {}
func (*spanHandle) TracerProvider() trace.TracerProvider    { return noop.NewTracerProvider() }

// sdkScope is the instrumentation scope the SDK gives spans of the recorder's tracer, so that
// recorded spans and SDK spans (ingested, evaluations) share one scope in an export.
func sdkScope(res *resource.Resource) instrumentation.Scope {
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, span := tp.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL)).Start(context.Background(), "scope")
	if ro, ok := span.(sdktrace.ReadOnlySpan); ok {
		return ro.InstrumentationScope()
	}
	return instrumentation.Scope{Name: instrumentationName, SchemaURL: semconv.SchemaURL}
}

// forgetsSpans reports whether exp is done with the spans it is given once ExportSpans returns,
// so that recorded spans can go back to the pool after export: tracegate's own OTLP/HTTP
// exporter (the configured default) and the no-op one. For the others (the SDK's OTLP
// exporters used for gRPC and env-configured export, stdout, the tests' in-memory exporter,
// which keeps them) spans are garbage collected as before.
func forgetsSpans(exp sdktrace.SpanExporter) bool {
	switch exp.(type) {
	case *fastHTTPExporter, *tracetest.NoopExporter:
		return true
	}
	return false
}

// maxCachedNames bounds nameCache: models and slugs are caller input.
const maxCachedNames = 256

type nameKey struct{ prefix, rest string }

// nameCache caches span names ("chat gpt-4o-mini", "run welcome-email"), one string
// concatenation per request otherwise.
type nameCache struct{ c intern.Cache[nameKey, string] }

// name is an attempt's span name: the operation ("" is chat), then the model if there is one.
func (c *nameCache) name(op, model string) string {
	prefix, _ := operationOf(op)
	return c.joined(prefix, model)
}

// joined is prefix + " " + rest, or prefix alone when rest is "".
func (c *nameCache) joined(prefix, rest string) string {
	k := nameKey{prefix, rest}
	if n, ok := c.c.Get(k); ok {
		return n
	}
	n := prefix
	if rest != "" {
		n += " " + rest
	}
	c.c.Add(k, n, maxCachedNames)
	return n
}
