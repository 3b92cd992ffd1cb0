package spans

import (
	"context"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/sdk/trace"
)

// STUB: replaced by the real implementation (issue "Spans").

// Options configures the recorder (mirrors config's spans section; spans does not import config).
type Options struct {
	Exporter       string            // otlp | stdout | none
	Protocol       string            // http | grpc
	Endpoint       string            // URL; empty = OTEL_EXPORTER_OTLP_* / SDK default
	Headers        map[string]string // extra export headers
	ServiceName    string
	CaptureContent bool
	QueueSize      int // bounded export queue; 0 = default
}

// Recorder starts run and attempt spans and exports them off the request path.
type Recorder struct{ opts Options }

// New builds a Recorder exporting as o says.
func New(ctx context.Context, o Options) (*Recorder, error) { return &Recorder{opts: o}, nil }

// NewWithExporter builds a Recorder around a given exporter (tests pass an in-memory one).
// sync=true exports each span as it ends (for tests); false batches off the request path.
func NewWithExporter(exp trace.SpanExporter, o Options, sync bool) *Recorder {
	return &Recorder{opts: o}
}

// Shutdown flushes queued spans and stops exporting.
func (r *Recorder) Shutdown(ctx context.Context) error { return nil }

// Dropped is the number of spans dropped because the export queue was full.
func (r *Recorder) Dropped() int64 { return 0 }

// RunStart describes a run as it begins.
type RunStart struct {
	// Name is the span name: "run {slug}" or "chat {model}".
	Name string
	// Linking input, raw from the caller. Precedence: body ids, then Traceparent, then new.
	TraceID      string // body traceId
	ParentSpanID string // body parentSpanId
	Traceparent  string // W3C traceparent header
	Slug         string
	Version      int
	Model        string // requested model
	Tags         []string
	UserID       string
	SessionID    string
	Variables    map[string]string // names always recorded; values only with CaptureContent
}

// Run is the SERVER span of one run.
type Run struct{}

// StartRun starts a run span. It returns an error wrapping llm.ErrInvalidRequest when the
// linking ids are malformed or parentSpanId comes without a trace.
func (r *Recorder) StartRun(ctx context.Context, s RunStart) (context.Context, *Run, error) {
	return ctx, &Run{}, nil
}

// SpanID is the run span id in wire form, sp_ + 16 hex.
func (run *Run) SpanID() string { return "sp_0000000000000000" }

// TraceID is the trace id in wire form: tr_ + 16 hex for 64-bit ids, tr_ + 32 hex otherwise.
func (run *Run) TraceID() string { return "tr_0000000000000000" }

// Traceparent is the W3C traceparent header value for the run span.
func (run *Run) Traceparent() string { return "" }

// SetInput records the conversation sent (content only with CaptureContent).
func (run *Run) SetInput(messages []llm.Message) {}

// AttemptStart describes one provider attempt.
type AttemptStart struct {
	ProviderName  string // configured provider name
	ProviderKind  string // openai | anthropic | gemini | mock
	Model         string // model sent upstream
	ServerAddress string
	ServerPort    int
	Request       *llm.Request
}

// Attempt is the CLIENT span of one provider call.
type Attempt struct{}

// StartAttempt starts a child span of the run for one provider call.
func (run *Run) StartAttempt(a AttemptStart) *Attempt { return &Attempt{} }

// End ends the attempt with its response or error.
func (a *Attempt) End(resp *llm.Response, err error) {}

// RunEnd is what is known when a run finishes.
type RunEnd struct {
	Response      *llm.Response // nil on failure
	Cost          float64
	Priced        bool
	Err           error
	ErrorType     string // the error code reported to the caller (PROVIDER_ERROR, ...)
	StaleTemplate bool   // the prompt came from the registry cache past its TTL
}

// End ends the run span.
func (run *Run) End(e RunEnd) {}
