package spans

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

const (
	headerTrace = "0af7651916cd43dd8448eb211c80319c"
	headerSpan  = "b7ad6b7169203331"
	header      = "00-" + headerTrace + "-" + headerSpan + "-01"
)

func TestRunLinking(t *testing.T) {
	cases := []struct {
		name       string
		start      RunStart
		wantTrace  string // wire form; "" = a new 64-bit trace
		wantParent string // hex span id; "" = root
	}{
		{name: "new trace", start: RunStart{}},
		{name: "body trace id only makes a root in that trace",
			start: RunStart{TraceID: "tr_9a0b1c2d3e4f5a6b"}, wantTrace: "tr_9a0b1c2d3e4f5a6b"},
		{name: "body 128-bit trace and parent",
			start:     RunStart{TraceID: "tr_" + headerTrace, ParentSpanID: "sp_6f1c0b9a2d4e8f10"},
			wantTrace: "tr_" + headerTrace, wantParent: "6f1c0b9a2d4e8f10"},
		{name: "bare body ids",
			start:     RunStart{TraceID: headerTrace, ParentSpanID: "6f1c0b9a2d4e8f10"},
			wantTrace: "tr_" + headerTrace, wantParent: "6f1c0b9a2d4e8f10"},
		{name: "traceparent header",
			start:     RunStart{Traceparent: header},
			wantTrace: "tr_" + headerTrace, wantParent: headerSpan},
		{name: "body ids beat the header",
			start:     RunStart{TraceID: "tr_9a0b1c2d3e4f5a6b", ParentSpanID: "sp_6f1c0b9a2d4e8f10", Traceparent: header},
			wantTrace: "tr_9a0b1c2d3e4f5a6b", wantParent: "6f1c0b9a2d4e8f10"},
		{name: "body trace id alone beats the header too",
			start:     RunStart{TraceID: "tr_9a0b1c2d3e4f5a6b", Traceparent: header},
			wantTrace: "tr_9a0b1c2d3e4f5a6b"},
		{name: "parentSpanId joins the header's trace",
			start:     RunStart{ParentSpanID: "sp_6f1c0b9a2d4e8f10", Traceparent: header},
			wantTrace: "tr_" + headerTrace, wantParent: "6f1c0b9a2d4e8f10"},
		{name: "an invalid header is ignored", start: RunStart{Traceparent: "00-garbage"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, exp := newSyncRecorder(t, Options{})
			tc.start.Name = "run x"
			_, run, err := rec.StartRun(context.Background(), tc.start)
			if err != nil {
				t.Fatalf("StartRun: %v", err)
			}
			run.End(RunEnd{})
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans", len(spans))
			}
			s := spans[0]
			if got := FormatTraceID(s.SpanContext.TraceID()); got != run.TraceID() {
				t.Errorf("exported trace %s, TraceID() %s", got, run.TraceID())
			}
			if tc.wantTrace == "" {
				if len(run.TraceID()) != 3+16 {
					t.Errorf("new trace %s, want the 64-bit form", run.TraceID())
				}
			} else if run.TraceID() != tc.wantTrace {
				t.Errorf("trace %s, want %s", run.TraceID(), tc.wantTrace)
			}
			if tc.wantParent == "" {
				if s.Parent.IsValid() {
					t.Errorf("parent %v, want a root", s.Parent)
				}
			} else if s.Parent.SpanID().String() != tc.wantParent || !s.Parent.IsRemote() {
				t.Errorf("parent %v (remote %v), want remote %s", s.Parent.SpanID(), s.Parent.IsRemote(), tc.wantParent)
			}
		})
	}
}

func TestRunLinkingErrors(t *testing.T) {
	cases := map[string]RunStart{
		"parentSpanId without any trace":         {ParentSpanID: "sp_6f1c0b9a2d4e8f10"},
		"parentSpanId with an unparsable header": {ParentSpanID: "sp_6f1c0b9a2d4e8f10", Traceparent: "nope"},
		"bad traceId":                            {TraceID: "tr_xyz"},
		"bad traceId beside a good header":       {TraceID: "tr_xyz", Traceparent: header},
		"bad parentSpanId":                       {TraceID: "tr_9a0b1c2d3e4f5a6b", ParentSpanID: "sp_123"},
		"bad parentSpanId beside a good header":  {ParentSpanID: "span-1", Traceparent: header},
		"all-zero traceId":                       {TraceID: "tr_0000000000000000"},
		"upper-case parentSpanId":                {TraceID: "tr_9a0b1c2d3e4f5a6b", ParentSpanID: "sp_6F1C0B9A2D4E8F10"},
	}
	for name, start := range cases {
		t.Run(name, func(t *testing.T) {
			rec, exp := newSyncRecorder(t, Options{})
			_, run, err := rec.StartRun(context.Background(), start)
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("StartRun error = %v, want ErrInvalidRequest", err)
			}
			if run != nil {
				t.Errorf("got a Run with the error")
			}
			if n := len(exp.GetSpans()); n != 0 {
				t.Errorf("%d spans recorded for a rejected run", n)
			}
		})
	}
}

func TestChainedRunsFormParentChild(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, first, err := rec.StartRun(context.Background(), RunStart{Name: "run one"})
	if err != nil {
		t.Fatal(err)
	}
	first.End(RunEnd{})
	_, second, err := rec.StartRun(context.Background(), RunStart{Name: "run two", TraceID: first.TraceID(), ParentSpanID: first.SpanID()})
	if err != nil {
		t.Fatalf("chaining the first run's ids: %v", err)
	}
	second.End(RunEnd{})
	one, two := spanByName(t, exp.GetSpans(), "run one"), spanByName(t, exp.GetSpans(), "run two")
	if two.Parent.SpanID() != one.SpanContext.SpanID() {
		t.Errorf("second run's parent %v, want the first run %v", two.Parent.SpanID(), one.SpanContext.SpanID())
	}
	if two.SpanContext.TraceID() != one.SpanContext.TraceID() || second.TraceID() != first.TraceID() {
		t.Errorf("traces differ: %v vs %v", two.SpanContext.TraceID(), one.SpanContext.TraceID())
	}
}

func TestContextFromExplicitRootDoesNotLeakTraceID(t *testing.T) {
	rec, _ := newSyncRecorder(t, Options{})
	ctx, run, err := rec.StartRun(context.Background(), RunStart{TraceID: "tr_9a0b1c2d3e4f5a6b"})
	if err != nil {
		t.Fatal(err)
	}
	run.End(RunEnd{})
	_, next, err := rec.StartRun(ctx, RunStart{})
	if err != nil {
		t.Fatal(err)
	}
	next.End(RunEnd{})
	if next.TraceID() == run.TraceID() {
		t.Errorf("a new run started from the returned context reused trace %s", run.TraceID())
	}
}

func TestTraceparentOfRun(t *testing.T) {
	rec, _ := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Traceparent: header})
	defer run.End(RunEnd{})
	tp := run.Traceparent()
	sc, err := ParseTraceparent(tp)
	if err != nil {
		t.Fatalf("Traceparent() = %q does not parse: %v", tp, err)
	}
	if sc.TraceID().String() != headerTrace || "sp_"+sc.SpanID().String() != run.SpanID() || !strings.HasSuffix(tp, "-01") {
		t.Errorf("Traceparent() = %q, want the run span %s in trace %s, sampled", tp, run.SpanID(), headerTrace)
	}
	_, fresh, _ := rec.StartRun(context.Background(), RunStart{})
	defer fresh.End(RunEnd{})
	if want := "00-0000000000000000" + fresh.TraceID()[3:] + "-" + fresh.SpanID()[3:] + "-01"; fresh.Traceparent() != want {
		t.Errorf("Traceparent() of a 64-bit trace = %q, want the zero-padded %q", fresh.Traceparent(), want)
	}
}

func TestUnsampledParentIsRespected(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{CaptureContent: true})
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run x", Traceparent: "00-" + headerTrace + "-" + headerSpan + "-00",
		Variables: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpanID(run.SpanID()); err != nil {
		t.Errorf("SpanID() = %q: %v", run.SpanID(), err)
	}
	if run.TraceID() != "tr_"+headerTrace {
		t.Errorf("TraceID() = %q, want the header's trace", run.TraceID())
	}
	if !strings.HasSuffix(run.Traceparent(), "-00") {
		t.Errorf("Traceparent() = %q, want the unsampled flag passed on", run.Traceparent())
	}
	run.SetInput([]llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}})
	run.SetModel("m")
	a := run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "m", Request: &llm.Request{}})
	a.FirstChunk()
	a.End(&llm.Response{ID: "x"}, nil)
	run.End(RunEnd{Response: &llm.Response{}, Priced: true})
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans exported under an unsampled parent, want 0", n)
	}
}

func TestNoneExporterStillMakesIDs(t *testing.T) {
	rec, err := New(context.Background(), Options{Exporter: ExporterNone})
	if err != nil {
		t.Fatal(err)
	}
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run x", Slug: "x"})
	if err != nil {
		t.Fatal(err)
	}
	run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "m"}).End(&llm.Response{}, nil)
	run.End(RunEnd{})
	if _, err := ParseSpanID(run.SpanID()); err != nil {
		t.Errorf("SpanID() %q: %v", run.SpanID(), err)
	}
	if _, err := ParseTraceID(run.TraceID()); err != nil {
		t.Errorf("TraceID() %q: %v", run.TraceID(), err)
	}
	if sc, err := ParseTraceparent(run.Traceparent()); err != nil || !sc.IsSampled() {
		t.Errorf("Traceparent() %q: %v", run.Traceparent(), err)
	}
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if rec.Exported() != 0 || rec.Dropped() != 0 || rec.ExportErrors() != 0 {
		t.Errorf("counters %d/%d/%d, want zero with no exporter", rec.Exported(), rec.Dropped(), rec.ExportErrors())
	}
}
