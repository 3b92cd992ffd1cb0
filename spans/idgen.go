package spans

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// wantedTraceIDKey carries the trace id a root span must use (a caller's traceId without a
// parentSpanId): the SDK only asks the IDGenerator for a root's ids, so the wish rides the context.
type wantedTraceIDKey struct{}

func withWantedTraceID(ctx context.Context, id trace.TraceID) context.Context {
	return context.WithValue(ctx, wantedTraceIDKey{}, id)
}

// wantedSpanIDKey carries the span id an ingested span must keep (the SDK chose it).
type wantedSpanIDKey struct{}

func withWantedSpanID(ctx context.Context, id trace.SpanID) context.Context {
	return context.WithValue(ctx, wantedSpanIDKey{}, id)
}

func spanIDFor(ctx context.Context) trace.SpanID {
	if want, ok := ctx.Value(wantedSpanIDKey{}).(trace.SpanID); ok && want.IsValid() {
		return want
	}
	return newSpanID()
}

// idGenerator makes 64-bit trace ids for new traces (DESIGN.md section 3) unless the context
// names the trace to use.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if want, ok := ctx.Value(wantedTraceIDKey{}).(trace.TraceID); ok && want.IsValid() {
		return want, spanIDFor(ctx)
	}
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[8:], nonZeroUint64())
	return tid, spanIDFor(ctx)
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	return spanIDFor(ctx)
}

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], nonZeroUint64())
	return sid
}

func nonZeroUint64() uint64 {
	for {
		if v := rand.Uint64(); v != 0 {
			return v
		}
	}
}
