package spans

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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
	recordBenchRunWith(b, rec, start, benchAttempt)
}

func recordBenchRunWith(b *testing.B, rec *Recorder, start RunStart, attempt AttemptStart) {
	_, run, err := rec.StartRun(context.Background(), start)
	if err != nil {
		b.Fatal(err)
	}
	run.StartAttempt(attempt).End(benchResponse, nil)
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

// BenchmarkRunSpansPassthrough is the span work of one OpenAI-compatible passthrough call on
// its own: run span and one attempt as the chat surface starts them (no prompt, tags or
// variables; the body not decoded), response and cost at the end, the wire ids, hand-off to
// the batching queue.
func BenchmarkRunSpansPassthrough(b *testing.B) { benchPassthrough(b, nil) }

// discardSink reads what a sink copies and keeps nothing.
type discardSink struct{ n int }

func (k *discardSink) Keep(s *Summary) { k.n += len(s.SpanID) + len(s.Name) }

// BenchmarkRunSpansPassthroughSink is BenchmarkRunSpansPassthrough with a sink, as with the
// span store on: the Summary hand-off on top of the span work.
func BenchmarkRunSpansPassthroughSink(b *testing.B) { benchPassthrough(b, &discardSink{}) }

func benchPassthrough(b *testing.B, sink Sink) {
	rec := NewWithExporter(tracetest.NewNoopExporter(), Options{QueueSize: 1 << 16}, false)
	defer rec.Shutdown(context.Background())
	if sink != nil {
		rec.SetSink(sink)
	}
	start := RunStart{Name: "chat gpt-4o-mini", Model: "gpt-4o-mini"}
	attempt := AttemptStart{ProviderName: "openai", ProviderKind: "openai", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443}
	b.ReportAllocs()
	for b.Loop() {
		recordBenchRunWith(b, rec, start, attempt)
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

// benchBatch is a full export batch of tracegate's own spans: 256 runs, each a run span and an
// attempt span with full attributes.
func benchBatch(b *testing.B) []sdktrace.ReadOnlySpan {
	capture := &spanCapture{}
	rec := NewWithExporter(capture, Options{}, true)
	defer rec.Shutdown(context.Background())
	for range maxExportBatch / 2 {
		recordBenchRun(b, rec, benchStart)
	}
	spans := capture.Spans()
	if len(spans) != maxExportBatch {
		b.Fatalf("%d spans, want %d", len(spans), maxExportBatch)
	}
	return spans
}

// discardingCollector accepts and drops every export.
func discardingCollector(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkEncodeBatch is one export of 512 spans. sdk is the exporter tracegate used before
// (otlptracehttp with tracegate's BestSpeed gzip client); fast is fastHTTPExporter; both post
// to the same discarding loopback collector. encode is otlpEncoder alone, encode+gzip the
// export's CPU without the HTTP post; encode-1run encodes one run's two spans, where the
// resource and scope, written once per batch, weigh most.
func BenchmarkEncodeBatch(b *testing.B) {
	spans := benchBatch(b)
	perSpan := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/span")
	}
	b.Run("encode", func(b *testing.B) {
		var enc otlpEncoder
		b.ReportAllocs()
		for b.Loop() {
			_ = enc.encode(spans)
		}
		perSpan(b, len(spans))
	})
	b.Run("encode-1run", func(b *testing.B) {
		var enc otlpEncoder
		b.ReportAllocs()
		for b.Loop() {
			_ = enc.encode(spans[:2])
		}
		perSpan(b, 2)
	})
	b.Run("encode+gzip", func(b *testing.B) {
		u, _ := url.Parse("http://127.0.0.1:4318")
		exp := newFastHTTPExporter(u, nil)
		defer exp.Shutdown(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exp.compress(exp.enc.encode(spans)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/span")
	})
	b.Run("fast", func(b *testing.B) {
		srv := discardingCollector(b)
		u, _ := url.Parse(srv.URL)
		exp := newFastHTTPExporter(u, nil)
		defer exp.Shutdown(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				b.Fatal(err)
			}
		}
		perSpan(b, len(spans))
	})
	b.Run("sdk", func(b *testing.B) {
		srv := discardingCollector(b)
		u, _ := url.Parse(srv.URL)
		exp, err := otlptracehttp.New(context.Background(), httpExporterOptions(Options{}, u)...)
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGzipBatch is the compression step of one export of 512 spans at the levels worth
// weighing, with the compressed share of the encoded size.
func BenchmarkGzipBatch(b *testing.B) {
	var enc otlpEncoder
	raw := append([]byte(nil), enc.encode(benchBatch(b))...)
	for _, lv := range []struct {
		name  string
		level int
	}{{"huffman", gzip.HuffmanOnly}, {"stateless", gzip.StatelessCompression}, {"1", 1}, {"2", 2}, {"3", 3}, {"5", 5}} {
		b.Run(lv.name, func(b *testing.B) {
			zw, err := gzip.NewWriterLevel(nil, lv.level)
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				zw.Reset(&out)
				if _, err := zw.Write(raw); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/maxExportBatch, "ns/span")
			b.ReportMetric(float64(out.Len())/float64(len(raw)), "size-ratio")
		})
	}
}
