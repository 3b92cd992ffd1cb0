package spans

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracegate/tracegate/internal/redact"
	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// SDK span kinds (CreateSpanPayload.spanKind).
const (
	KindRoot      = "ROOT"
	KindLLM       = "LLM"
	KindEmbedding = "EMBEDDING"
)

// AttrSpanKind keeps the SDK's spanKind on an ingested span.
const AttrSpanKind = "tracegate.span_kind"

// maxIngestedError bounds the error text an SDK sends, like a run's status description.
const maxIngestedError = maxStatusDescription

// IngestedSpan is a span an SDK recorded itself (run_local, sessions, embeddings) and posted,
// already validated by the caller except for the linking ids.
type IngestedSpan struct {
	SpanID       string // sp_ + 16 hex, chosen by the SDK
	TraceID      string // tr_ + 16 or 32 hex; "" starts a new 64-bit trace
	ParentSpanID string // needs TraceID
	Kind         string // ROOT | LLM | EMBEDDING | ""
	Embedding    bool   // an embeddings call (EMBEDDING kind or input.text)
	Model        string
	ProviderKind string // tracegate's provider kinds: openai, anthropic, gemini, bedrock, voyage
	Slug         string
	Version      int
	Failed       bool
	Error        string
	Latency      time.Duration
	Usage        llm.Usage
	Cost         float64
	Priced       bool
	Tags         []string
	UserID       string
	SessionID    string
	Variables    map[string]string // names always recorded; values only with CaptureContent
	Temperature  *float64
	TopP         *float64
	MaxTokens    int
	// Content, recorded only with CaptureContent.
	Messages  []llm.Message // input.messages, when they could be read
	InputJSON []byte        // the input object as sent, for the store
	Output    string
}

// Ingested names the exported span in wire form.
type Ingested struct {
	SpanID  string
	TraceID string
}

// Ingest exports s as a CLIENT span with the SDK's span id, in the trace and under the parent
// it names, ending now and starting Latency earlier, and reports it to the sink. Malformed
// linking ids are an error wrapping llm.ErrInvalidRequest.
func (r *Recorder) Ingest(s *IngestedSpan) (Ingested, error) {
	sid, err := parseSDKSpanID("spanId", s.SpanID)
	if err != nil {
		return Ingested{}, err
	}
	ctx, newRoot, err := ingestContext(s)
	if err != nil {
		return Ingested{}, err
	}
	ctx = withWantedSpanID(ctx, sid)
	end := time.Now()
	start := end.Add(-s.Latency)
	opts := []trace.SpanStartOption{clientKind, trace.WithTimestamp(start)}
	if newRoot {
		opts = append(opts, newRootOption)
	}
	recording := r.exporting
	var attrs *[]attribute.KeyValue
	if recording {
		attrs = getAttrs()
		*attrs = r.appendIngestedAttributes(*attrs, s)
		opts = append(opts, trace.WithAttributes(*attrs...))
	}
	_, span := r.tracer.Start(ctx, ingestedSpanName(s), opts...)
	if attrs != nil {
		putAttrs(attrs)
	}
	if s.Failed && span.IsRecording() {
		span.SetStatus(codes.Error, ingestedError(s.Error))
	}
	span.End(trace.WithTimestamp(end))
	sc := span.SpanContext()
	out := Ingested{SpanID: FormatSpanID(sc.SpanID()), TraceID: FormatTraceID(sc.TraceID())}
	if sink := r.currentSink(); sink != nil {
		sink.Keep(r.ingestedSummary(s, out, start, newRoot))
	}
	return out, nil
}

// ingestContext links the span as StartRun does for body ids, without the traceparent header
// (an SDK posting spans in the background has none that means anything).
func ingestContext(s *IngestedSpan) (context.Context, bool, error) {
	ctx := context.Background()
	if s.TraceID == "" {
		if s.ParentSpanID != "" {
			return ctx, false, fmt.Errorf("%w: parentSpanId needs a traceId", llm.ErrInvalidRequest)
		}
		return ctx, true, nil
	}
	tid, err := ParseTraceID(s.TraceID)
	if err != nil {
		return ctx, false, err
	}
	if s.ParentSpanID == "" {
		return withWantedTraceID(ctx, tid), true, nil
	}
	psid, err := ParseSpanID(s.ParentSpanID)
	if err != nil {
		return ctx, false, err
	}
	return trace.ContextWithRemoteSpanContext(ctx, remoteParent(tid, psid, trace.FlagsSampled)), false, nil
}

func ingestedSpanName(s *IngestedSpan) string {
	if s.Embedding {
		return "embeddings " + s.Model
	}
	return "chat " + s.Model
}

func (r *Recorder) appendIngestedAttributes(attrs []attribute.KeyValue, s *IngestedSpan) []attribute.KeyValue {
	op := semconv.GenAIOperationNameChat
	if s.Embedding {
		op = semconv.GenAIOperationNameEmbeddings
	}
	attrs = append(attrs, op, providerNameAttr(s.ProviderKind), semconv.GenAIRequestModel(s.Model))
	if s.Kind != "" {
		attrs = append(attrs, attribute.String(AttrSpanKind, s.Kind))
	}
	attrs = appendSampling(attrs, s.Temperature, s.TopP, s.MaxTokens)
	attrs = appendUsage(attrs, s.Usage)
	if s.Priced {
		attrs = append(attrs, costStatusPriced,
			attribute.Float64(AttrCost, s.Cost), attribute.Float64(AttrLLMCostTotal, s.Cost))
	} else {
		attrs = append(attrs, costStatusUnpriced)
	}
	if s.Failed {
		attrs = append(attrs, semconv.ErrorTypeOther)
	}
	attrs = r.appendRunStartAttributes(attrs, &RunStart{
		Slug: s.Slug, Version: s.Version, Tags: s.Tags, UserID: s.UserID, SessionID: s.SessionID, Variables: s.Variables,
	})
	if r.opts.CaptureContent {
		input, instructions := conversationJSON(s.Messages)
		if input != "" {
			attrs = append(attrs, semconv.GenAIInputMessagesKey.String(input))
		}
		if instructions != "" {
			attrs = append(attrs, semconv.GenAISystemInstructionsKey.String(instructions))
		}
		if s.Output != "" && !s.Embedding {
			attrs = append(attrs, semconv.GenAIOutputMessagesKey.String(outputJSON(&llm.Response{Text: s.Output, HasText: true})))
		}
	}
	return attrs
}

func (r *Recorder) ingestedSummary(s *IngestedSpan, out Ingested, start time.Time, root bool) *Summary {
	sum := &Summary{
		SpanID:       out.SpanID,
		TraceID:      out.TraceID,
		Kind:         s.Kind,
		Name:         ingestedSpanName(s),
		Model:        s.Model,
		ProviderKind: s.ProviderKind,
		Slug:         s.Slug,
		Version:      s.Version,
		Tags:         slices.Clone(s.Tags),
		UserID:       s.UserID,
		SessionID:    s.SessionID,
		Failed:       s.Failed,
		Start:        start,
		Latency:      s.Latency,
		Usage:        s.Usage,
		Cost:         s.Cost,
		Priced:       s.Priced,
	}
	if !root && s.ParentSpanID != "" {
		if psid, err := ParseSpanID(s.ParentSpanID); err == nil {
			sum.ParentSpanID = FormatSpanID(psid)
		}
	}
	if s.Failed {
		sum.ErrorType = semconv.ErrorTypeOther.Value.AsString()
		sum.Error = ingestedError(s.Error)
	}
	if r.opts.CaptureContent {
		sum.Variables = s.Variables
		sum.InputJSON = s.InputJSON
		sum.Output = s.Output
	}
	return sum
}

// ingestedError is an SDK's error text as spans and the store keep it: key-shaped tokens
// replaced (an SDK may not have scrubbed them), bounded.
func ingestedError(msg string) string {
	return truncateUTF8(redact.Secrets(msg), maxIngestedError)
}

// parseSDKSpanID parses the sp_ + 16 hex span ids the SDKs generate (the bare form that
// parentSpanId also accepts is not an SDK span id).
func parseSDKSpanID(field, v string) (trace.SpanID, error) {
	var id trace.SpanID
	if len(v) != len(SpanIDPrefix)+spanIDHexLen || v[:len(SpanIDPrefix)] != SpanIDPrefix ||
		!decodeLowerHex(id[:], v[len(SpanIDPrefix):]) || !id.IsValid() {
		return trace.SpanID{}, fmt.Errorf("%w: %s %s must be sp_ followed by 16 lowercase hex digits, not all zero",
			llm.ErrInvalidRequest, field, quoteInput(v))
	}
	return id, nil
}
