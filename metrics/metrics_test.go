package metrics

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fasthttp"
)

type fakeSpanStats struct{ exported, dropped, errors int64 }

func (f fakeSpanStats) Exported() int64     { return f.exported }
func (f fakeSpanStats) Dropped() int64      { return f.dropped }
func (f fakeSpanStats) ExportErrors() int64 { return f.errors }

// gathered indexes the registry's metrics by family name.
func gathered(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// series finds the metric of family name whose labels include want; nil if none.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counterValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(fams, name, labels)
	if m == nil {
		t.Fatalf("no series %s%v", name, labels)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	m := series(fams, name, labels)
	if m == nil || m.Histogram == nil {
		t.Fatalf("no histogram %s%v", name, labels)
	}
	return m.Histogram
}

func TestRequestAndAttemptMetrics(t *testing.T) {
	inFlight := int64(3)
	m := New(Sources{RequestsInFlight: func() int64 { return inFlight }, Spans: fakeSpanStats{7, 2, 1}})
	usage := llm.Usage{InputTokens: 100, OutputTokens: 40, CacheReadTokens: 30, CacheWriteTokens: 5, CacheWrite1hTokens: 5, ReasoningTokens: 12, Known: true}
	m.RequestDone(RequestSummary{Route: RouteRun, Status: 200, Duration: 1500 * time.Millisecond,
		Provider: "openai", Model: "gpt-4o-mini", Usage: usage, Cost: 0.25, Priced: true})
	m.RequestDone(RequestSummary{Route: RouteRun, Status: 200, Duration: 500 * time.Millisecond,
		Provider: "openai", Model: "gpt-4o-mini", Usage: usage, Cost: 0.5, Priced: true, StaleTemplate: true})
	m.RequestDone(RequestSummary{Route: RouteChat, Status: 200, Stream: true, Duration: time.Second,
		Provider: "local", Model: "llama-3", Usage: llm.Usage{InputTokens: 8, OutputTokens: 2, Known: true}})
	m.RequestDone(RequestSummary{Route: RouteRun, Status: 404, Code: "NOT_FOUND", Duration: time.Millisecond})
	// A stream cut before its usage: counted, priced as unknown, no tokens.
	m.RequestDone(RequestSummary{Route: RouteChat, Status: 200, Stream: true, Code: "PROVIDER_ERROR",
		Provider: "openai", Model: "gpt-4o-mini", Priced: true})
	m.AttemptDone(AttemptSummary{Provider: "openai", Model: "gpt-4o-mini", Status: 429, ErrType: "PROVIDER_ERROR", Duration: 200 * time.Millisecond})
	m.AttemptDone(AttemptSummary{Provider: "openai", Model: "gpt-4o-mini", Status: 200, Duration: 1200 * time.Millisecond})
	m.StreamStarted()
	m.StreamStarted()
	m.StreamEnded()
	m.ConfigReloaded(false)

	f := gathered(t, m)
	if v := counterValue(t, f, "tracegate_requests_total", map[string]string{"route": "run", "status": "200", "code": ""}); v != 2 {
		t.Errorf("run 200: %v", v)
	}
	if v := counterValue(t, f, "tracegate_requests_total", map[string]string{"route": "run", "status": "404", "code": "NOT_FOUND"}); v != 1 {
		t.Errorf("run 404: %v", v)
	}
	if h := histogram(t, f, "tracegate_request_duration_seconds", map[string]string{"route": "run", "stream": "false"}); h.GetSampleCount() != 3 || math.Abs(h.GetSampleSum()-2.001) > 1e-9 {
		t.Errorf("run duration: count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	if h := histogram(t, f, "tracegate_request_duration_seconds", map[string]string{"route": "chat_completions", "stream": "true"}); h.GetSampleCount() != 2 {
		t.Errorf("stream duration count %d", h.GetSampleCount())
	}
	gpt := map[string]string{"provider": "openai", "model": "gpt-4o-mini"}
	with := func(k, v string) map[string]string {
		out := map[string]string{k: v}
		for kk, vv := range gpt {
			out[kk] = vv
		}
		return out
	}
	for typ, want := range map[string]float64{"input": 200, "output": 80, "cache_read": 60, "cache_write": 20, "reasoning": 24} {
		if v := counterValue(t, f, "tracegate_tokens_total", with("gen_ai_token_type", typ)); v != want {
			t.Errorf("tokens %s: %v, want %v", typ, v, want)
		}
	}
	in := histogram(t, f, "gen_ai_client_token_usage", with("gen_ai_token_type", "input"))
	if in.GetSampleCount() != 2 || in.GetSampleSum() != 200 {
		t.Errorf("input token histogram: %d %v", in.GetSampleCount(), in.GetSampleSum())
	}
	if got := len(in.GetBucket()); got != len(genAITokenBuckets) || in.GetBucket()[len(genAITokenBuckets)-1].GetUpperBound() != 67108864 {
		t.Errorf("token buckets are not the GenAI ones: %d", got)
	}
	if v := counterValue(t, f, "tracegate_cost_usd_total", gpt); v != 0.75 {
		t.Errorf("cost %v", v)
	}
	if v := counterValue(t, f, "tracegate_unpriced_runs_total", map[string]string{"provider": "local", "model": "llama-3"}); v != 1 {
		t.Errorf("unpriced %v", v)
	}
	if v := counterValue(t, f, "tracegate_unpriced_runs_total", gpt); v != 0 {
		t.Errorf("priced model counted unpriced: %v", v)
	}
	if v := counterValue(t, f, "tracegate_registry_stale_serves_total", nil); v != 1 {
		t.Errorf("stale %v", v)
	}
	if v := counterValue(t, f, "tracegate_provider_attempts_total", with("status", "429")); v != 1 {
		t.Errorf("429 attempts %v", v)
	}
	ok := histogram(t, f, "gen_ai_client_operation_duration_seconds", with("error_type", ""))
	if ok.GetSampleCount() != 1 || ok.GetSampleSum() != 1.2 || ok.GetBucket()[0].GetUpperBound() != 0.01 {
		t.Errorf("attempt duration: %d %v", ok.GetSampleCount(), ok.GetSampleSum())
	}
	if series(f, "gen_ai_client_operation_duration_seconds", with("error_type", "PROVIDER_ERROR")) == nil {
		t.Error("failed attempts have no duration series")
	}
	for name, want := range map[string]float64{"tracegate_requests_in_flight": 3, "tracegate_streams_in_flight": 1,
		"tracegate_spans_exported_total": 7, "tracegate_spans_dropped_total": 2, "tracegate_span_export_errors_total": 1} {
		if v := counterValue(t, f, name, nil); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if v := counterValue(t, f, "tracegate_config_reloads_total", map[string]string{"result": "rejected"}); v != 1 {
		t.Errorf("rejected reloads %v", v)
	}
	if series(f, "tracegate_config_reloads_total", map[string]string{"result": "ok"}) == nil {
		t.Error("no ok series for reloads before the first one")
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if f[name] == nil {
			t.Errorf("no %s: the runtime and process collectors are missing", name)
		}
	}
	// No cache source given: no cache metrics pretending to be zero.
	if f["tracegate_registry_cache_hits_total"] != nil {
		t.Error("cache metrics without a cache")
	}
}

func TestRegistryCacheStatsReadAtScrape(t *testing.T) {
	st := CacheStats{Hits: 5, Misses: 2}
	m := New(Sources{RegistryCache: func() CacheStats { return st }})
	f := gathered(t, m)
	if counterValue(t, f, "tracegate_registry_cache_hits_total", nil) != 5 || counterValue(t, f, "tracegate_registry_cache_misses_total", nil) != 2 {
		t.Fatal("cache counters not exported")
	}
	st.Hits = 9
	if v := counterValue(t, gathered(t, m), "tracegate_registry_cache_hits_total", nil); v != 9 {
		t.Errorf("hits not re-read at scrape: %v", v)
	}
}

func TestModelLabelsAreBounded(t *testing.T) {
	m := New(Sources{})
	for i := range maxModelSeries + 50 {
		m.AttemptDone(AttemptSummary{Provider: "openai", Model: fmt.Sprintf("gpt-invented-%d", i), Status: 404, ErrType: "PROVIDER_ERROR"})
	}
	f := gathered(t, m)
	if n := len(f["tracegate_provider_attempts_total"].GetMetric()); n > maxModelSeries+1 {
		t.Errorf("%d series for attempts, limit %d", n, maxModelSeries)
	}
	if v := counterValue(t, f, "tracegate_provider_attempts_total", map[string]string{"model": otherModel}); v != 50 {
		t.Errorf("folded attempts: %v", v)
	}
}

func TestObserverDoesNotAllocateOnKnownSeries(t *testing.T) {
	m := New(Sources{})
	req := RequestSummary{Route: RouteRun, Status: 200, Duration: time.Second, Provider: "mock", Model: "mock-1",
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, Known: true}, Cost: 0.001, Priced: true}
	att := AttemptSummary{Provider: "mock", Model: "mock-1", Status: 200, Duration: time.Second}
	m.RequestDone(req)
	m.AttemptDone(att)
	if n := testing.AllocsPerRun(100, func() { m.RequestDone(req); m.AttemptDone(att) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

func TestHandlerServesTextFormat(t *testing.T) {
	m := New(Sources{})
	m.RequestDone(RequestSummary{Route: RouteOps, Status: 200})
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("/metrics")
	ctx.Init(&req, nil, nil)
	m.Handler()(&ctx)
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 200 || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "text/plain") {
		t.Fatalf("%d %q", ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
	}
	if !strings.Contains(body, "# TYPE tracegate_requests_total counter") ||
		!strings.Contains(body, `tracegate_requests_total{code="",route="ops",status="200"} 1`) {
		t.Errorf("body:\n%s", body)
	}
}

func BenchmarkRequestDone(b *testing.B) {
	m := New(Sources{})
	req := RequestSummary{Route: RouteRun, Status: 200, Duration: time.Second, Provider: "mock", Model: "mock-1",
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, Known: true}, Cost: 0.001, Priced: true}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.RequestDone(req)
		}
	})
}
