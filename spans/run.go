package spans

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
//
// Lifetime. A Run is allocated once per run and never reused: after End its caller still logs
// its ids, a goroutine may still hold the context StartRun returned (which is the Run's own
// runContext) or an *Attempt (the first one lives in the Run), and the span store keeps the id
// strings, which point into Run.ids. So everything a caller can reach after End is here, and
// immutable once StartRun returns or guarded by its own mutex (Attempt.mu) or atomics.
//
// What only the run itself needs until End (the RunStart copy, the open span, the captured
// input, the Summary handed to the sink) is a pooled runState, reachable only through
// Run.state. End takes it under mu and puts it back once the span went to the export queue
// (which holds the recordedSpan, pooled on its own, not the state) and the sink's Keep
// returned; the Set* methods find it nil from then on and do nothing. Nothing else ever holds
// a runState, so it cannot be reused while anything can reach it.
type Run struct {
	rec *Recorder
	sc  trace.SpanContext
	// recording is false for an unsampled parent or the "none" exporter: attributes are skipped.
	recording bool
	sessionID string // for the attempts' gen_ai.conversation.id
	attempts  atomic.Int32
	ended     atomic.Bool
	// ctx is the context StartRun returns, handle the trace.Span it carries.
	ctx    runContext
	handle spanHandle
	// first is the first attempt, kept in the Run: most runs make one.
	first Attempt
	// latest is the attempt started last: the one a stream relay is reading from.
	latest atomic.Pointer[Attempt]

	// ids holds the wire forms of the span id, trace id, traceparent and parent span id, one
	// after the other, written once in StartRun; the strings SpanID and the others return point
	// into it, so replies, headers, logs and the sink share them without an allocation.
	ids                                   [idsLen]byte
	traceIDEnd, traceparentEnd, parentEnd uint8

	mu    sync.Mutex
	state *runState // nil from End on
}

// spanIDEnd is where the span id ends in Run.ids.
const spanIDEnd = uint8(len(SpanIDPrefix) + spanIDHexLen)

// idsLen is room for sp_ + 16 hex, tr_ + 32 hex, a traceparent and sp_ + 16 hex.
const idsLen = len(SpanIDPrefix) + spanIDHexLen + len(TraceIDPrefix) + fullTraceIDHexLen + traceparentLen +
	len(SpanIDPrefix) + spanIDHexLen

// runState is the part of a run that End is done with; see Run.
type runState struct {
	// span collects the run span's attributes until End hands it to the export queue; nil when
	// not recording.
	span *recordedSpan
	// What the sink's Summary needs, kept whether or not the span records attributes.
	info   RunStart
	start  time.Time
	parent trace.SpanID
	input  []llm.Message // only with CaptureContent and a sink
	// sum is the Summary handed to the sink, valid only during its Keep.
	sum Summary
}

var runStatePool = sync.Pool{New: func() any { return new(runState) }}

func (st *runState) release() {
	*st = runState{} // drop what it points at
	runStatePool.Put(st)
}

// StartRun starts a run span. It returns an error wrapping llm.ErrInvalidRequest when the
// linking ids are malformed or parentSpanId comes without a trace; the Run is then nil.
// The returned context carries the run span.
func (r *Recorder) StartRun(ctx context.Context, s RunStart) (context.Context, *Run, error) {
	link, err := linkRun(&s)
	if err != nil {
		return ctx, nil, err
	}
	run := &Run{rec: r, sc: link.spanContext(), sessionID: s.SessionID}
	st := runStatePool.Get().(*runState)
	st.info, st.start = s, time.Now()
	run.state = st
	run.handle.run = run
	run.recording = r.exporting && run.sc.IsSampled()
	if link.parent.IsValid() {
		st.parent = link.parent.SpanID()
	}
	run.formatIDs(st.parent)
	if run.recording {
		st.span = r.newRecordedSpan(r.runSpanName(&s), trace.SpanKindServer, run.sc, link.parent, st.start)
		st.span.attrs = r.appendRunStartAttributes(st.span.attrs, &s)
	}
	return run.context(ctx), run, nil
}

// runSpanName is s.Name, else "run {slug}", else "{operation} {model}"; the built ones come
// from the recorder's name cache, not a concatenation per run.
func (r *Recorder) runSpanName(s *RunStart) string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Slug != "":
		return r.spanNames.joined("run", s.Slug)
	case s.Model != "":
		return r.spanNames.name(s.Operation, s.Model)
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
		attrs = append(attrs, stringSlices.kv(AttrTags, s.Tags))
	}
	if s.UserID != "" {
		attrs = append(attrs, semconv.UserID(s.UserID))
	}
	if s.SessionID != "" {
		attrs = append(attrs, semconv.SessionID(s.SessionID), semconv.GenAIConversationID(s.SessionID))
	}
	if len(s.Variables) > 0 {
		var buf [maxCachedSliceLen]string // names stay on the stack when few
		names := buf[:0]
		for name := range s.Variables {
			names = append(names, name)
		}
		slices.Sort(names)
		attrs = append(attrs, stringSlices.kv(AttrPromptVariables, names))
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
	return unsafe.String(&run.ids[0], spanIDEnd)
}

// TraceID is the trace id in wire form: tr_ + 16 hex for 64-bit ids, tr_ + 32 hex otherwise.
func (run *Run) TraceID() string { return run.idPart(spanIDEnd, run.traceIDEnd) }

// Traceparent is the W3C traceparent header value for the run span.
func (run *Run) Traceparent() string { return run.idPart(run.traceIDEnd, run.traceparentEnd) }

// parentSpanID is the parent span id in wire form, "" for a root.
func (run *Run) parentSpanID() string { return run.idPart(run.traceparentEnd, run.parentEnd) }

func (run *Run) idPart(from, to uint8) string {
	if to == from {
		return ""
	}
	return unsafe.String(&run.ids[from], int(to-from))
}

// formatIDs writes the wire forms into run.ids, once: the strings made from it are safe
// because nothing writes ids again and the Run is never reused.
func (run *Run) formatIDs(parent trace.SpanID) {
	b := appendSpanID(run.ids[:0], run.sc.SpanID())
	b = appendTraceID(b, run.sc.TraceID())
	run.traceIDEnd = uint8(len(b))
	b = appendTraceparent(b, run.sc)
	run.traceparentEnd = uint8(len(b))
	if parent.IsValid() {
		b = appendSpanID(b, parent)
	}
	run.parentEnd = uint8(len(b))
}

// SpanContext is the run span's OTel span context.
func (run *Run) SpanContext() trace.SpanContext { return run.sc }

// SetModel records the requested model once it is known (the run API learns it from the
// prompt version after the run started).
func (run *Run) SetModel(model string) {
	if model == "" {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if st := run.state; st != nil {
		st.info.Model = model
		st.set(semconv.GenAIRequestModel(model))
	}
}

// SetPromptVersion records the prompt version actually run (the latest, when none was asked for).
func (run *Run) SetPromptVersion(version int) {
	if version <= 0 {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if st := run.state; st != nil {
		st.info.Version = version
		st.set(attribute.Int(AttrPromptVersion, version), attribute.Int(AttrGenAIPromptVersion, version))
	}
}

// addAttributes sets attributes of the run span; a key set twice keeps its last value.
func (run *Run) addAttributes(attrs ...attribute.KeyValue) {
	if !run.recording {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if st := run.state; st != nil {
		st.set(attrs...)
	}
}

// set sets attributes of the open span, if it records; call with Run.mu held.
func (st *runState) set(attrs ...attribute.KeyValue) {
	if st.span != nil {
		for _, kv := range attrs {
			st.span.set(kv)
		}
	}
}

// SetInput records the conversation sent (content only with CaptureContent).
func (run *Run) SetInput(messages []llm.Message) {
	if !run.rec.opts.CaptureContent {
		return
	}
	if run.rec.currentSink() != nil {
		run.mu.Lock()
		if st := run.state; st != nil {
			st.input = messages
		}
		run.mu.Unlock()
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
	run.mu.Lock()
	st := run.state
	run.state = nil
	run.mu.Unlock()
	end := time.Now()
	if st.span != nil {
		run.endSpan(st.span, &e, end)
		st.span = nil
	}
	if sink := run.rec.currentSink(); sink != nil {
		run.summarize(st, &e, end)
		sink.Keep(&st.sum)
	}
	st.release()
}

func (run *Run) endSpan(span *recordedSpan, e *RunEnd, end time.Time) {
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
	run.rec.finish(span, end)
}
