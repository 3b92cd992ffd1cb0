package spans

import (
	"context"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

// linkContext applies the precedence of DESIGN.md section 3 (body ids, then the traceparent
// header, then a new trace). It returns the context to start the run span in and whether that
// span is a root; a root in a caller-chosen trace finds the trace id in the context.
func linkContext(ctx context.Context, s *RunStart) (context.Context, bool, error) {
	var header trace.SpanContext
	if s.Traceparent != "" {
		// W3C Trace Context: an unparsable traceparent is ignored, not an error.
		if sc, err := ParseTraceparent(s.Traceparent); err == nil {
			header = sc
		}
	}

	if s.TraceID != "" {
		tid, err := ParseTraceID(s.TraceID)
		if err != nil {
			return ctx, false, err
		}
		if s.ParentSpanID == "" {
			return withWantedTraceID(ctx, tid), true, nil
		}
		sid, err := ParseSpanID(s.ParentSpanID)
		if err != nil {
			return ctx, false, err
		}
		// Body ids carry no flags; a caller naming its parent wants the run recorded.
		return trace.ContextWithRemoteSpanContext(ctx, remoteParent(tid, sid, trace.FlagsSampled)), false, nil
	}

	if s.ParentSpanID != "" {
		sid, err := ParseSpanID(s.ParentSpanID)
		if err != nil {
			return ctx, false, err
		}
		if !header.IsValid() {
			return ctx, false, fmt.Errorf("%w: parentSpanId needs a traceId or a traceparent header", llm.ErrInvalidRequest)
		}
		return trace.ContextWithRemoteSpanContext(ctx, remoteParent(header.TraceID(), sid, header.TraceFlags())), false, nil
	}

	if header.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, header), false, nil
	}
	return ctx, true, nil
}

func remoteParent(tid trace.TraceID, sid trace.SpanID, flags trace.TraceFlags) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
}
