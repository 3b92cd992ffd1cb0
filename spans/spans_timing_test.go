package spans

import (
	"context"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var (
	benchRequest = &llm.Request{
		Model:       "gpt-4o-mini",
		Messages:    []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hello")}}},
		Temperature: ptr(0.7), TopP: ptr(1.0), MaxTokens: 400, Stop: []string{"END"},
	}
	benchResponse = &llm.Response{
		ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", Text: "hi", HasText: true,
		FinishReason: llm.FinishStop, RawFinishReason: "stop",
		Usage: llm.Usage{InputTokens: 120, OutputTokens: 85, CacheReadTokens: 64, ReasoningTokens: 10, Known: true},
	}
	benchStart = RunStart{
		Name: "run welcome-email", Slug: "welcome-email", Version: 2, Model: "gpt-4o-mini",
		Tags: []string{"onboarding"}, UserID: "user-1", SessionID: "sess-1",
		Variables: map[string]string{"name": "Alice", "product": "Widget"},
	}
	benchAttempt = AttemptStart{
		ProviderName: "openai", ProviderKind: "openai", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443, Request: benchRequest,
	}
)

func recordBenchRun(b *testing.B, rec *Recorder, start RunStart) {
	_, run, err := rec.StartRun(context.Background(), start)
	if err != nil {
		b.Fatal(err)
	}
	run.StartAttempt(benchAttempt).End(benchResponse, nil)
	run.End(RunEnd{Response: benchResponse, Cost: 0.0001, Priced: true})
	_, _, _ = run.SpanID(), run.TraceID(), run.Traceparent()
}

// BenchmarkRunSpans is the per-run cost on the request path: run span plus one attempt with
// full attributes, capture off, through the batching queue.
func BenchmarkRunSpans(b *testing.B) {
	rec := NewWithExporter(tracetest.NewNoopExporter(), Options{QueueSize: 1 << 16}, false)
	defer rec.Shutdown(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		recordBenchRun(b, rec, benchStart)
	}
	b.ReportMetric(float64(rec.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkRunSpansLinked adds parsing a caller's traceparent.
func BenchmarkRunSpansLinked(b *testing.B) {
	rec := NewWithExporter(tracetest.NewNoopExporter(), Options{QueueSize: 1 << 16}, false)
	defer rec.Shutdown(context.Background())
	start := benchStart
	start.Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	b.ReportAllocs()
	for b.Loop() {
		recordBenchRun(b, rec, start)
	}
}

// BenchmarkRunSpansNoExport is the floor: ids and spans, no attributes, nothing exported.
func BenchmarkRunSpansNoExport(b *testing.B) {
	rec := NewWithExporter(nil, Options{}, false)
	defer rec.Shutdown(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		recordBenchRun(b, rec, benchStart)
	}
}

func BenchmarkParseIDs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTraceID("tr_0af7651916cd43dd8448eb211c80319c"); err != nil {
			b.Fatal(err)
		}
		if _, err := ParseSpanID("sp_6f1c0b9a2d4e8f10"); err != nil {
			b.Fatal(err)
		}
		if _, err := ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"); err != nil {
			b.Fatal(err)
		}
	}
}
