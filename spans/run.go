package spans

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// Start options are interface values; built once, they cost no allocation per span.
var (
	clientKind    = trace.WithSpanKind(trace.SpanKindClient)
	newRootOption = trace.WithNewRoot()
)

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
	// Operation, when set (OperationEmbeddings), is recorded as gen_ai.operation.name.
	Operation string
}

// Run is the SERVER span of one run.
type Run struct {
	rec *Recorder
	sc  trace.SpanContext
	// handle carries sc in the context StartRun returns.
	handle spanHandle
	// recording is false for an unsampled parent or the "none" exporter: attributes are skipped.
	recording bool
	sessionID string
	attempts  atomic.Int32
	ended     atomic.Bool
	// spanID, traceID and traceparent cache the wire forms (wireIDs). A Run's methods other
	// than StartAttempt, FirstChunk and End are called from the request's goroutine only.
	spanID, traceID, traceparent string
	// first is the first attempt, kept in the Run: most runs make one.
	first Attempt
	// latest is the attempt started last: the one a stream relay is reading from.
	latest atomic.Pointer[Attempt]

	// span collects the run span's attributes until End hands it to the export queue. Nil
	// when not recording, and from End on.
	mu   sync.Mutex
	span *recordedSpan

	// What the sink's Summary needs, kept whether or not the span records attributes.
	info   RunStart
	start  time.Time
	parent trace.SpanID
	input  []llm.Message // only with CaptureContent and a sink
}

// StartRun starts a run span. It returns an error wrapping llm.ErrInvalidRequest when the
// linking ids are malformed or parentSpanId comes without a trace; the Run is then nil.
// The returned context carries the run span.
func (r *Recorder) StartRun(ctx context.Context, s RunStart) (context.Context, *Run, error) {
	link, err := linkRun(&s)
	if err != nil {
		return ctx, nil, err
	}
	run := &Run{
		rec:       r,
		sc:        link.spanContext(),
		sessionID: s.SessionID,
		info:      s,
		start:     time.Now(),
	}
	run.handle.sc = run.sc
	run.recording = r.exporting && run.sc.IsSampled()
	if link.parent.IsValid() {
		run.parent = link.parent.SpanID()
	}
	if run.recording {
		run.span = r.newRecordedSpan(runSpanName(&s), trace.SpanKindServer, run.sc, link.parent, run.start)
		run.span.attrs = r.appendRunStartAttributes(run.span.attrs, &s)
	}
	return trace.ContextWithSpan(ctx, &run.handle), run, nil
}

func runSpanName(s *RunStart) string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Slug != "":
		return "run " + s.Slug
	case s.Model != "":
		return "chat " + s.Model
	}
	return "run"
}

func (r *Recorder) appendRunStartAttributes(attrs []attribute.KeyValue, s *RunStart) []attribute.KeyValue {
	if s.Model != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(s.Model))
	}
	if s.Operation != "" {
		_, op := operationOf(s.Operation)
		attrs = append(attrs, op)
	}
	if s.Slug != "" {
		attrs = append(attrs, attribute.String(AttrPromptSlug, s.Slug), semconv.GenAIPromptName(s.Slug))
	}
	if s.Version > 0 {
		attrs = append(attrs, attribute.Int(AttrPromptVersion, s.Version), attribute.Int(AttrGenAIPromptVersion, s.Version))
	}
	if len(s.Tags) > 0 {
		attrs = append(attrs, attribute.StringSlice(AttrTags, boundedStrings(s.Tags)))
	}
	if s.UserID != "" {
		attrs = append(attrs, semconv.UserID(s.UserID))
	}
	if s.SessionID != "" {
		attrs = append(attrs, semconv.SessionID(s.SessionID), semconv.GenAIConversationID(s.SessionID))
	}
	if len(s.Variables) > 0 {
		names := make([]string, 0, len(s.Variables))
		for name := range s.Variables {
			names = append(names, name)
		}
		slices.Sort(names)
		attrs = append(attrs, attribute.StringSlice(AttrPromptVariables, boundedStrings(names)))
		if r.opts.CaptureContent {
			for _, name := range names {
				attrs = append(attrs, attribute.String(AttrPromptVariableBase+name, s.Variables[name]))
			}
		}
	}
	return attrs
}

// SpanID is the run span id in wire form, sp_ + 16 hex.
func (run *Run) SpanID() string {
	run.wireIDs()
	return run.spanID
}

// TraceID is the trace id in wire form: tr_ + 16 hex for 64-bit ids, tr_ + 32 hex otherwise.
func (run *Run) TraceID() string {
	run.wireIDs()
	return run.traceID
}

// Traceparent is the W3C traceparent header value for the run span.
func (run *Run) Traceparent() string {
	run.wireIDs()
	return run.traceparent
}

// wireIDs formats the three wire forms once, into one string: replies, headers, log lines
// and the sink all ask for them, and one allocation is cheaper than three.
func (run *Run) wireIDs() {
	if run.spanID != "" {
		return
	}
	var buf [len(SpanIDPrefix) + spanIDHexLen + len(TraceIDPrefix) + fullTraceIDHexLen + traceparentLen]byte
	b := appendSpanID(buf[:0], run.sc.SpanID())
	sidEnd := len(b)
	b = appendTraceID(b, run.sc.TraceID())
	tidEnd := len(b)
	b = appendTraceparent(b, run.sc)
	all := string(b)
	run.spanID, run.traceID, run.traceparent = all[:sidEnd], all[sidEnd:tidEnd], all[tidEnd:]
}

// SpanContext is the run span's OTel span context.
func (run *Run) SpanContext() trace.SpanContext { return run.sc }

// SetModel records the requested model once it is known (the run API learns it from the
// prompt version after the run started).
func (run *Run) SetModel(model string) {
	if model != "" {
		run.info.Model = model
		run.addAttributes(semconv.GenAIRequestModel(model))
	}
}

// SetPromptVersion records the prompt version actually run (the latest, when none was asked for).
func (run *Run) SetPromptVersion(version int) {
	if version > 0 {
		run.info.Version = version
		run.addAttributes(attribute.Int(AttrPromptVersion, version), attribute.Int(AttrGenAIPromptVersion, version))
	}
}

// addAttributes sets attributes of the run span; a key set twice keeps its last value.
func (run *Run) addAttributes(attrs ...attribute.KeyValue) {
	if !run.recording {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.span != nil {
		for _, kv := range attrs {
			run.span.set(kv)
		}
	}
}

// SetInput records the conversation sent (content only with CaptureContent).
func (run *Run) SetInput(messages []llm.Message) {
	if !run.rec.opts.CaptureContent {
		return
	}
	if run.rec.currentSink() != nil {
		run.input = messages
	}
	if !run.recording {
		return
	}
	input, instructions := conversationJSON(messages)
	if input != "" {
		run.addAttributes(semconv.GenAIInputMessagesKey.String(input))
	}
	if instructions != "" {
		run.addAttributes(semconv.GenAISystemInstructionsKey.String(instructions))
	}
}

// RunEnd is what is known when a run finishes.
type RunEnd struct {
	Response      *llm.Response // nil on failure
	Cost          float64
	Priced        bool
	Err           error
	ErrorType     string // the error code reported to the caller (PROVIDER_ERROR, ...)
	StaleTemplate bool   // the prompt came from the registry cache past its TTL
}

// End ends the run span. Only the first call counts.
func (run *Run) End(e RunEnd) {
	if !run.ended.CompareAndSwap(false, true) {
		return
	}
	if run.recording {
		run.endSpan(&e)
	}
	if sink := run.rec.currentSink(); sink != nil {
		sink.Keep(run.summary(&e))
	}
}

func (run *Run) endSpan(e *RunEnd) {
	run.mu.Lock()
	span := run.span
	run.span = nil
	run.mu.Unlock()
	attrs := span.attrs
	if e.Response != nil {
		attrs = appendResponse(attrs, e.Response)
	}
	switch {
	case e.Priced:
		attrs = append(attrs, costStatusPriced,
			attribute.Float64(AttrCost, e.Cost), attribute.Float64(AttrLLMCostTotal, e.Cost))
	case e.Response != nil:
		attrs = append(attrs, costStatusUnpriced)
	}
	if e.StaleTemplate {
		attrs = append(attrs, templateStale)
	}
	errType := e.ErrorType
	if errType == "" && e.Err != nil {
		errType = errorType(e.Err)
	}
	if errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
		desc := statusDescription(e.Err)
		if desc == "" {
			desc = errType
		}
		span.status = sdktrace.Status{Code: codes.Error, Description: desc}
	}
	if e.Response != nil && run.rec.opts.CaptureContent {
		attrs = append(attrs, semconv.GenAIOutputMessagesKey.String(outputJSON(e.Response)))
	}
	span.attrs = attrs
	span.children = int(run.attempts.Load())
	run.rec.finish(span)
}
