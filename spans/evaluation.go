package spans

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// AttrEvaluationID is the id the spans API returned for an evaluation.
const AttrEvaluationID = "tracegate.evaluation.id"

// maxExplanation bounds an evaluation note on the span.
const maxExplanation = 1024

var internalKind = trace.WithSpanKind(trace.SpanKindInternal)

// Evaluation is a score given to a recorded span (POST /api/v1/spans/{spanId}/evaluations).
type Evaluation struct {
	SpanID  string // the evaluated span, sp_ + 16 hex
	TraceID string // its trace, tr_ + 16 or 32 hex
	Key     string // the evaluator key
	Value   float64
	Note    string
	At      time.Time
}

// RecordEvaluation exports an INTERNAL child span "evaluation {key}" of the evaluated span,
// in its trace, carrying the GenAI evaluation attributes, and returns the evaluation's id
// (ev_ + the child span's 16 hex). Malformed ids are an error wrapping llm.ErrInvalidRequest.
func (r *Recorder) RecordEvaluation(e Evaluation) (string, error) {
	parent, err := parseSDKSpanID("spanId", e.SpanID)
	if err != nil {
		return "", err
	}
	tid, err := ParseTraceID(e.TraceID)
	if err != nil {
		return "", err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remoteParent(tid, parent, trace.FlagsSampled))
	opts := []trace.SpanStartOption{internalKind, trace.WithTimestamp(e.At)}
	if r.exporting {
		attrs := []attribute.KeyValue{
			semconv.GenAIEvaluationName(e.Key),
			semconv.GenAIEvaluationScoreValue(e.Value),
		}
		if e.Note != "" {
			attrs = append(attrs, semconv.GenAIEvaluationExplanation(truncateUTF8(e.Note, maxExplanation)))
		}
		opts = append(opts, trace.WithAttributes(attrs...))
	}
	_, span := r.tracer.Start(ctx, "evaluation "+e.Key, opts...)
	id := EvaluationIDPrefix + FormatSpanID(span.SpanContext().SpanID())[len(SpanIDPrefix):]
	if span.IsRecording() {
		span.SetAttributes(attribute.String(AttrEvaluationID, id))
	}
	span.End(trace.WithTimestamp(e.At))
	return id, nil
}

// EvaluationIDPrefix starts the ids of evaluations.
const EvaluationIDPrefix = "ev_"
