package spans

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// keptSummaries is a Sink that keeps a copy of what it is given (the Summary is valid only
// during Keep).
type keptSummaries struct {
	mu   sync.Mutex
	sums []*Summary
}

func (k *keptSummaries) Keep(s *Summary) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := *s
	k.sums = append(k.sums, &c)
}

func (k *keptSummaries) all() []*Summary {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*Summary(nil), k.sums...)
}

func TestIngestKeepsIDsAndJoinsTheRunTrace(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	sink := &keptSummaries{}
	rec.SetSink(sink)
	_, run, err := rec.StartRun(context.Background(), RunStart{Slug: "welcome-email", Version: 2, Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	run.End(RunEnd{Response: &llm.Response{Model: "gpt-4o", Usage: llm.Usage{InputTokens: 3, OutputTokens: 4, Known: true}}, Cost: 0.5, Priced: true})

	temp := 0.2
	got, err := rec.Ingest(&IngestedSpan{
		SpanID: "sp_00000000000000a1", TraceID: run.TraceID(), ParentSpanID: run.SpanID(), Kind: KindLLM,
		Model: "claude-sonnet-4-5", ProviderKind: "anthropic", Latency: 1500 * time.Millisecond,
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 20, Known: true}, Cost: 0.25, Priced: true,
		Tags: []string{"a", "b"}, UserID: "u1", SessionID: "s1", Temperature: &temp, Variables: map[string]string{"name": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.SpanID != "sp_00000000000000a1" || got.TraceID != run.TraceID() {
		t.Fatalf("ingested %+v, want the SDK's span id in the run's trace %s", got, run.TraceID())
	}
	sp := spanByName(t, exp.GetSpans(), "chat claude-sonnet-4-5")
	if sp.SpanKind != trace.SpanKindClient || sp.Parent.SpanID() != run.SpanContext().SpanID() || sp.SpanContext.TraceID() != run.SpanContext().TraceID() {
		t.Fatalf("ingested span kind %v parent %v trace %v, want a CLIENT child of the run span", sp.SpanKind, sp.Parent.SpanID(), sp.SpanContext.TraceID())
	}
	if d := sp.EndTime.Sub(sp.StartTime); d != 1500*time.Millisecond {
		t.Errorf("duration %v, want the payload's latency", d)
	}
	attrs := attrMap(sp.Attributes)
	for k, want := range map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
		"gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(20), "gen_ai.usage.cost": 0.25,
		"llm.cost.total": 0.25, "tracegate.cost.status": "priced", "user.id": "u1", "session.id": "s1",
		"gen_ai.conversation.id": "s1", "gen_ai.request.temperature": 0.2, "tracegate.span_kind": "LLM",
	} {
		if g := attrs[k]; g != want {
			t.Errorf("%s = %v (%T), want %v", k, g, g, want)
		}
	}
	if _, ok := attrs["tracegate.prompt.variable.name"]; ok {
		t.Error("a variable value was recorded with capture_content off")
	}
	sums := sink.all()
	if len(sums) != 2 {
		t.Fatalf("%d summaries, want the run's and the ingested span's", len(sums))
	}
	if s := sums[0]; s.Slug != "welcome-email" || s.Version != 2 || s.Model != "gpt-4o" || !s.Priced || s.Usage.OutputTokens != 4 || s.Failed {
		t.Errorf("run summary %+v", s)
	}
	if s := sums[1]; s.SpanID != got.SpanID || s.ParentSpanID != run.SpanID() || s.Kind != KindLLM || s.Variables != nil || s.Latency != 1500*time.Millisecond {
		t.Errorf("ingested summary %+v", s)
	}
}

func TestIngestLinking(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	got, err := rec.Ingest(&IngestedSpan{SpanID: "sp_00000000000000b1", Model: "text-embedding-3-small", ProviderKind: "openai", Embedding: true, Kind: KindEmbedding})
	if err != nil {
		t.Fatal(err)
	}
	sp := spanByName(t, exp.GetSpans(), "embeddings text-embedding-3-small")
	if sp.Parent.IsValid() || !isShortTraceID(sp.SpanContext.TraceID()) || got.TraceID != FormatTraceID(sp.SpanContext.TraceID()) {
		t.Errorf("no traceId: want a new 64-bit root trace, got %v parent %v (%+v)", sp.SpanContext.TraceID(), sp.Parent, got)
	}
	if attrMap(sp.Attributes)["gen_ai.operation.name"] != "embeddings" {
		t.Errorf("operation %v, want embeddings", attrMap(sp.Attributes)["gen_ai.operation.name"])
	}

	got, err = rec.Ingest(&IngestedSpan{SpanID: "sp_00000000000000b2", TraceID: "tr_00000000000000c1", Model: "m", ProviderKind: "gemini",
		Failed: true, Error: "boom sk-abcdefghijklmnopqrstuvwxyz123456"})
	if err != nil || got.TraceID != "tr_00000000000000c1" {
		t.Fatalf("traceId only: %+v %v", got, err)
	}
	sp = spanByName(t, exp.GetSpans(), "chat m")
	if strings.Contains(sp.Status.Description, "sk-abcdef") || !strings.Contains(sp.Status.Description, "boom") {
		t.Errorf("status %q: want the SDK's error with the key scrubbed", sp.Status.Description)
	}
	if sp.Parent.IsValid() || sp.Status.Code != codes.Error || attrMap(sp.Attributes)["error.type"] != "_OTHER" ||
		attrMap(sp.Attributes)["gen_ai.provider.name"] != "gcp.gemini" {
		t.Errorf("failed root span: parent %v status %v attrs %v", sp.Parent, sp.Status, attrMap(sp.Attributes))
	}

	for name, bad := range map[string]IngestedSpan{
		"span id":             {SpanID: "sp_123"},
		"bare span id":        {SpanID: "00000000000000b1"},
		"zero span id":        {SpanID: "sp_0000000000000000"},
		"trace id":            {SpanID: "sp_00000000000000b3", TraceID: "tr_xyz"},
		"parent id":           {SpanID: "sp_00000000000000b3", TraceID: "tr_00000000000000c1", ParentSpanID: "nope"},
		"parent but no trace": {SpanID: "sp_00000000000000b3", ParentSpanID: "sp_00000000000000c1"},
	} {
		if _, err := rec.Ingest(&bad); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestRecordEvaluationIsAChildOfTheSpan(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	id, err := rec.RecordEvaluation(Evaluation{SpanID: "sp_00000000000000d1", TraceID: "tr_00000000000000d2", Key: "accuracy", Value: 0.75, Note: "close"})
	if err != nil {
		t.Fatal(err)
	}
	sp := spanByName(t, exp.GetSpans(), "evaluation accuracy")
	if sp.SpanKind != trace.SpanKindInternal || FormatSpanID(sp.Parent.SpanID()) != "sp_00000000000000d1" ||
		FormatTraceID(sp.SpanContext.TraceID()) != "tr_00000000000000d2" {
		t.Fatalf("evaluation span kind %v parent %v trace %v", sp.SpanKind, sp.Parent.SpanID(), sp.SpanContext.TraceID())
	}
	attrs := attrMap(sp.Attributes)
	if attrs["gen_ai.evaluation.name"] != "accuracy" || attrs["gen_ai.evaluation.score.value"] != 0.75 ||
		attrs["gen_ai.evaluation.explanation"] != "close" || attrs["tracegate.evaluation.id"] != id {
		t.Errorf("attributes %v (id %s)", attrs, id)
	}
	if id != "ev_"+sp.SpanContext.SpanID().String() {
		t.Errorf("id %s, want ev_ + the evaluation span id %s", id, sp.SpanContext.SpanID())
	}
	if _, err := rec.RecordEvaluation(Evaluation{SpanID: "sp_1", TraceID: "tr_00000000000000d2", Key: "k"}); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("bad span id: %v", err)
	}
}

func TestRunSummaryWithoutExport(t *testing.T) {
	rec := NewWithExporter(nil, Options{CaptureContent: true}, true)
	sink := &keptSummaries{}
	rec.SetSink(sink)
	_, run, err := rec.StartRun(context.Background(), RunStart{
		Name: "chat gpt-4o", Model: "gpt-4o", TraceID: "tr_00000000000000e1", ParentSpanID: "sp_00000000000000e2",
		Variables: map[string]string{"a": "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}}
	run.SetInput(msgs)
	att := run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "gpt-4o"})
	err = &llm.UpstreamError{Status: 500, Message: "upstream down"}
	att.End(nil, err)
	run.End(RunEnd{Err: err, ErrorType: "PROVIDER_ERROR"})
	sums := sink.all()
	if len(sums) != 1 {
		t.Fatalf("%d summaries with the none exporter, want 1", len(sums))
	}
	s := sums[0]
	if s.ParentSpanID != "sp_00000000000000e2" || s.TraceID != "tr_00000000000000e1" || s.ProviderKind != "openai" ||
		!s.Failed || s.ErrorType != "PROVIDER_ERROR" || s.Error == "" || len(s.Input) != 1 || s.Variables["a"] != "b" || s.Start.IsZero() {
		t.Errorf("summary %+v", s)
	}
}
