package spans

import (
	"encoding/binary"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

// runLink is where a run span goes: under parent (remote) when it is valid, else a new root,
// in trace (the caller's traceId) when that is valid, else in a new trace.
type runLink struct {
	parent trace.SpanContext
	trace  trace.TraceID
}

// linkRun applies the precedence of DESIGN.md section 3 (body ids, then the traceparent
// header, then a new trace).
func linkRun(s *RunStart) (runLink, error) {
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
			return runLink{}, err
		}
		if s.ParentSpanID == "" {
			return runLink{trace: tid}, nil
		}
		sid, err := ParseSpanID(s.ParentSpanID)
		if err != nil {
			return runLink{}, err
		}
		// Body ids carry no flags; a caller naming its parent wants the run recorded.
		return runLink{parent: remoteParent(tid, sid, trace.FlagsSampled)}, nil
	}

	if s.ParentSpanID != "" {
		sid, err := ParseSpanID(s.ParentSpanID)
		if err != nil {
			return runLink{}, err
		}
		if !header.IsValid() {
			return runLink{}, fmt.Errorf("%w: parentSpanId needs a traceId or a traceparent header", llm.ErrInvalidRequest)
		}
		return runLink{parent: remoteParent(header.TraceID(), sid, header.TraceFlags())}, nil
	}
	return runLink{parent: header}, nil
}

// spanContext makes the run span's ids: a child of a valid parent takes its trace, flags and
// trace state (ParentBased sampling: an unsampled parent gives an unsampled run); a root gets
// the caller's trace id or a new 64-bit one, and is sampled.
func (l runLink) spanContext() trace.SpanContext {
	if l.parent.IsValid() {
		return trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: l.parent.TraceID(), SpanID: newSpanID(),
			TraceFlags: l.parent.TraceFlags(), TraceState: l.parent.TraceState(),
		})
	}
	tid := l.trace
	if !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[8:], nonZeroUint64())
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceFlags: trace.FlagsSampled})
}

func remoteParent(tid trace.TraceID, sid trace.SpanID, flags trace.TraceFlags) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
}
