package spans

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/tracegate/tracegate/spans"

// Recorder starts run and attempt spans and exports them off the request path.
type Recorder struct {
	opts     Options
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	stats    *exportStats
	// exporting is false with the "none" exporter: ids are still made, attributes are not.
	exporting bool
	// sink receives a summary of every finished run and ingested span (SetSink).
	sink atomic.Pointer[sinkBox]
	// processor is the provider's span processor, which run and attempt spans (recordedSpan)
	// are handed to directly; nil when not exporting.
	processor sdktrace.SpanProcessor
	resource  *resource.Resource
	scope     instrumentation.Scope
	// spanNames caches "chat {model}", "embeddings {model}" and "run {slug}".
	spanNames nameCache
}

// New builds a Recorder exporting as o says. It does not contact the collector: a collector
// that is down only shows in ExportErrors.
func New(ctx context.Context, o Options) (*Recorder, error) {
	exp, err := newExporter(ctx, o)
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx, o.ServiceName)
	if err != nil {
		if exp != nil {
			_ = exp.Shutdown(ctx)
		}
		return nil, err
	}
	return newRecorder(exp, o, false, res), nil
}

// NewWithExporter builds a Recorder around a given exporter (tests pass an in-memory one).
// sync=true exports each span as it ends (for tests); false batches off the request path.
// A nil exporter behaves like the "none" exporter. Options.Exporter, Protocol, Endpoint and
// Headers are ignored.
func NewWithExporter(exp sdktrace.SpanExporter, o Options, sync bool) *Recorder {
	res, err := newResource(context.Background(), o.ServiceName)
	if err != nil {
		// Only a malformed OTEL_RESOURCE_ATTRIBUTES gets here; the service name still matters more.
		name := o.ServiceName
		if name == "" {
			name = DefaultServiceName
		}
		res = resource.NewSchemaless(semconv.ServiceName(name))
	}
	return newRecorder(exp, o, sync, res)
}

func newRecorder(exp sdktrace.SpanExporter, o Options, sync bool, res *resource.Resource) *Recorder {
	r := &Recorder{opts: o, stats: &exportStats{}, exporting: exp != nil, resource: res, scope: sdkScope(res)}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithIDGenerator(idGenerator{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(spanLimits),
	}
	if exp != nil {
		counted := &countingExporter{next: exp, stats: r.stats}
		if sync {
			r.processor = sdktrace.NewSimpleSpanProcessor(counted)
		} else {
			q := newQueueProcessor(counted, r.stats, o.queueSize())
			q.recycle = forgetsSpans(exp)
			r.processor = q
		}
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(r.processor))
	}
	r.provider = sdktrace.NewTracerProvider(tpOpts...)
	r.tracer = r.provider.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
	return r
}

// TracerProvider is the provider behind the recorder, for callers that want to add their own
// spans to the same pipeline. It is not installed globally.
func (r *Recorder) TracerProvider() trace.TracerProvider { return r.provider }

// Shutdown flushes queued spans and stops exporting. Spans a dead collector refuses are
// counted in ExportErrors, not returned; the error is ctx's when it runs out first.
func (r *Recorder) Shutdown(ctx context.Context) error {
	if err := r.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down span recorder: %w", err)
	}
	return nil
}

// ForceFlush exports the spans queued so far.
func (r *Recorder) ForceFlush(ctx context.Context) error {
	if err := r.provider.ForceFlush(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// Dropped is the number of spans dropped because the export queue was full.
func (r *Recorder) Dropped() int64 { return r.stats.dropped.Load() }

// Exported is the number of spans the exporter accepted.
func (r *Recorder) Exported() int64 { return r.stats.exported.Load() }

// ExportErrors is the number of failed export calls; each loses its batch of spans.
func (r *Recorder) ExportErrors() int64 { return r.stats.exportErrors.Load() }

// LastExportError is the most recent export failure, nil if there was none.
func (r *Recorder) LastExportError() error {
	if f := r.stats.lastError.Load(); f != nil {
		return f.err
	}
	return nil
}
