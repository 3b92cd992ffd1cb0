package spans

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// runContext is the context StartRun returns: its parent plus the run span, as
// trace.ContextWithSpan would make it, but living inside the Run, so a run costs no context
// allocation of its own. Like the Run it is never reused, so a context a caller or a
// goroutine still holds after End keeps answering the run's span context.
type runContext struct {
	context.Context
	run *Run
}

func (c *runContext) Value(key any) any {
	if key == currentSpanKey {
		return trace.Span(&c.run.handle)
	}
	return c.Context.Value(key)
}

// currentSpanKey is the key the trace package files the current span under. It is unexported
// there; keyProbe learns it by being asked for it, and runContextWorks checks the result. When
// the check fails (a trace package that finds spans differently), StartRun falls back to
// trace.ContextWithSpan.
var currentSpanKey = probeSpanKey()

var runContextWorks = checkRunContext()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

func probeSpanKey() any {
	p := &keyProbe{Context: context.Background()}
	trace.SpanFromContext(p)
	return p.key
}

func checkRunContext() bool {
	if currentSpanKey == nil {
		return false
	}
	run := &Run{sc: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})}
	run.handle.run = run
	run.ctx = runContext{Context: context.Background(), run: run}
	return trace.SpanContextFromContext(&run.ctx).Equal(run.sc)
}

// context gives the context carrying the run span over parent.
func (run *Run) context(parent context.Context) context.Context {
	if !runContextWorks {
		return trace.ContextWithSpan(parent, &run.handle)
	}
	run.ctx = runContext{Context: parent, run: run}
	return &run.ctx
}
