package spans

import (
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

// AttemptStart describes one provider attempt.
type AttemptStart struct {
	ProviderName  string // configured provider name
	ProviderKind  string // openai | anthropic | gemini | mock
	Model         string // model sent upstream
	ServerAddress string
	ServerPort    int
	// Stream is whether the reply is streamed; it is recorded even when Request is nil (a
	// passed-through body that was not decoded).
	Stream bool
	// Request is the request sent, read while StartAttempt runs and not kept.
	Request *llm.Request
	// Operation is "" for chat or OperationEmbeddings; it names the span and sets
	// gen_ai.operation.name.
	Operation string
}

// Attempt is the CLIENT span of one provider call.
type Attempt struct {
	run        *Run
	recording  bool
	start      time.Time
	firstChunk atomic.Bool
	ended      atomic.Bool
	kind       string // provider kind, for the run's Summary

	// span collects the attempt's attributes until End; nil when not recording and from End on.
	mu   sync.Mutex
	span *recordedSpan
}

// StartAttempt starts a child span of the run for one provider call. Retries and fallbacks
// each get their own, siblings under the run span, numbered in tracegate.attempt.
func (run *Run) StartAttempt(s AttemptStart) *Attempt {
	n := run.attempts.Add(1)
	a := &run.first
	if n > 1 {
		a = &Attempt{}
	}
	a.run, a.recording, a.kind = run, run.recording, s.ProviderKind
	if a.recording {
		name := run.rec.spanNames.name(s.Operation, s.Model)
		a.start = time.Now()
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: run.sc.TraceID(), SpanID: newSpanID(), TraceFlags: run.sc.TraceFlags(), TraceState: run.sc.TraceState(),
		})
		a.span = run.rec.newRecordedSpan(name, trace.SpanKindClient, sc, run.sc, a.start)
		a.span.attrs = run.appendAttemptStartAttributes(a.span.attrs, &s, int(n))
	}
	run.latest.Store(a)
	return a
}

// FirstChunk records the time to first chunk on the attempt started last, the one whose
// stream is being relayed.
func (run *Run) FirstChunk() {
	if a := run.latest.Load(); a != nil {
		a.FirstChunk()
	}
}

// appendAttemptStartAttributes gives what is set at span start, where samplers can see it.
func (run *Run) appendAttemptStartAttributes(attrs []attribute.KeyValue, a *AttemptStart, n int) []attribute.KeyValue {
	_, op := operationOf(a.Operation)
	attrs = append(attrs, op, providerNameAttr(a.ProviderKind), attribute.Int(AttrAttempt, n))
	if a.Model != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(a.Model))
	}
	if a.ProviderName != "" {
		attrs = append(attrs, attribute.String(AttrProvider, a.ProviderName))
	}
	if a.ServerAddress != "" {
		attrs = append(attrs, semconv.ServerAddress(a.ServerAddress))
		if a.ServerPort > 0 {
			attrs = append(attrs, semconv.ServerPort(a.ServerPort))
		}
	}
	if run.sessionID != "" {
		attrs = append(attrs, semconv.GenAIConversationID(run.sessionID))
	}
	if a.Request == nil {
		return append(attrs, semconv.GenAIRequestStream(a.Stream))
	}
	attrs = appendRequest(attrs, a.Request)
	if run.rec.opts.CaptureContent {
		input, instructions := conversationJSON(a.Request.Messages)
		if input != "" {
			attrs = append(attrs, semconv.GenAIInputMessagesKey.String(input))
		}
		if instructions != "" {
			attrs = append(attrs, semconv.GenAISystemInstructionsKey.String(instructions))
		}
		if len(a.Request.Tools) > 0 {
			attrs = append(attrs, semconv.GenAIToolDefinitionsKey.String(toolDefinitionsJSON(a.Request.Tools)))
		}
	}
	return attrs
}

// FirstChunk records gen_ai.response.time_to_first_chunk for a streamed reply; only the first
// call counts.
func (a *Attempt) FirstChunk() {
	if a.recording && a.firstChunk.CompareAndSwap(false, true) {
		ttfc := semconv.GenAIResponseTimeToFirstChunk(time.Since(a.start).Seconds())
		a.mu.Lock()
		if a.span != nil {
			a.span.attrs = append(a.span.attrs, ttfc)
		}
		a.mu.Unlock()
	}
}

// End ends the attempt with its response or error; only the first call counts. A
// context.Canceled err (the client went away) is recorded as error.type "cancelled".
func (a *Attempt) End(resp *llm.Response, err error) {
	if !a.ended.CompareAndSwap(false, true) {
		return
	}
	if !a.recording {
		return
	}
	a.mu.Lock()
	span := a.span
	a.span = nil
	a.mu.Unlock()
	attrs := span.attrs
	if resp != nil {
		attrs = appendResponse(attrs, resp)
		if a.run.rec.opts.CaptureContent {
			attrs = append(attrs, semconv.GenAIOutputMessagesKey.String(outputJSON(resp)))
		}
	}
	if err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(err)))
		span.status = sdktrace.Status{Code: codes.Error, Description: statusDescription(err)}
	}
	span.attrs = attrs
	a.run.rec.finish(span, time.Now())
}
