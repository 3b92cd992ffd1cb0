package main

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics as Prometheus would and parses the text format.
func (g *testGateway) scrape(header map[string]string) map[string]*dto.MetricFamily {
	g.t.Helper()
	status, hdr, body := g.request(http.MethodGet, "/metrics", "", header)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		g.t.Fatalf("/metrics: %d %q %s", status, hdr.Get("Content-Type"), body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		g.t.Fatalf("/metrics is not the text format: %v", err)
	}
	return fams
}

// sample finds the value of the series of name whose labels include want: a counter or
// gauge value, or a histogram's sample count.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
next:
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsAfterTraffic(t *testing.T) {
	up := newFakeOpenAI(t, false)
	g := startGateway(t, baseConfig, up)

	var mockCost float64
	for range 2 {
		status, out := g.run("demo", `{"variables":{"name":"Ada"}}`, nil)
		if status != 200 {
			t.Fatalf("demo: %d %v", status, out)
		}
		mockCost += out["cost"].(float64)
	}
	if status, out := g.run("greet", `{"variables":{"name":"Ada"}}`, nil); status != 200 {
		t.Fatalf("greet: %d %v", status, out)
	}
	if status, out := g.run("demo", `{"model":"mock-unpriced","variables":{"name":"Ada"}}`, nil); status != 200 || out["cost"].(float64) != 0 {
		t.Fatalf("unpriced: %d %v", status, out)
	}
	if status, out := g.run("nope", `{}`, nil); status != 404 {
		t.Fatalf("unknown slug: %d %v", status, out)
	}
	status, _, body := g.request(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, nil)
	if status != 200 {
		t.Fatalf("chat: %d %s", status, body)
	}

	f := g.scrape(nil)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tracegate_requests_total", map[string]string{"route": "run", "status": "200", "code": ""}, 4},
		{"tracegate_requests_total", map[string]string{"route": "run", "status": "404", "code": "NOT_FOUND"}, 1},
		{"tracegate_requests_total", map[string]string{"route": "chat_completions", "status": "200"}, 1},
		{"tracegate_request_duration_seconds", map[string]string{"route": "run", "stream": "false"}, 5},
		{"tracegate_provider_attempts_total", map[string]string{"provider": "openai", "model": "gpt-4o-mini", "status": "200", "error_type": ""}, 2},
		{"tracegate_provider_attempts_total", map[string]string{"provider": "mock", "model": "mock-1", "status": "200"}, 2},
		{"gen_ai_client_operation_duration_seconds", map[string]string{"provider": "openai", "model": "gpt-4o-mini", "error_type": ""}, 2},
		{"tracegate_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o-mini", "gen_ai_token_type": "input"}, 24},
		{"tracegate_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o-mini", "gen_ai_token_type": "output"}, 12},
		{"gen_ai_client_token_usage", map[string]string{"provider": "openai", "model": "gpt-4o-mini", "gen_ai_token_type": "output"}, 2},
		{"tracegate_unpriced_runs_total", map[string]string{"provider": "mock", "model": "mock-unpriced"}, 1},
		{"tracegate_unpriced_runs_total", map[string]string{"provider": "mock", "model": "mock-1"}, 0},
		{"tracegate_streams_in_flight", nil, 0},
		{"tracegate_registry_stale_serves_total", nil, 0},
		{"tracegate_spans_dropped_total", nil, 0},
		{"tracegate_config_reloads_total", map[string]string{"result": "ok"}, 0},
	}
	for _, c := range checks {
		got, ok := sample(f, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	cost, _ := sample(f, "tracegate_cost_usd_total", map[string]string{"provider": "mock", "model": "mock-1"})
	if mockCost == 0 || math.Abs(cost-mockCost) > 1e-12 {
		t.Errorf("mock-1 cost %v, the runs said %v", cost, mockCost)
	}
	if gpt, ok := sample(f, "tracegate_cost_usd_total", map[string]string{"provider": "openai", "model": "gpt-4o-mini"}); !ok || gpt <= 0 {
		t.Errorf("gpt-4o-mini cost %v (found %v): the embedded table prices it", gpt, ok)
	}
	// The scrape itself is in flight.
	if v, ok := sample(f, "tracegate_requests_in_flight", nil); !ok || v < 1 {
		t.Errorf("requests in flight %v (found %v)", v, ok)
	}
	for _, name := range []string{"tracegate_spans_exported_total", "tracegate_span_export_errors_total", "go_goroutines", "process_resident_memory_bytes"} {
		if f[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func TestReadinessFollowsTheRegistryAndProviders(t *testing.T) {
	up := newFakeOpenAI(t, false)
	// The only provider lacks its key.
	keyless := strings.NewReplacer(`api_key: "sk-test-fake-upstream-key"`, `api_key: ""`,
		"  - {name: mock, type: mock}\n", "", `  - {match: "mock-*", provider: mock}`+"\n", "").Replace(baseConfig)
	g := startGateway(t, keyless, up)

	status, _, body := g.request(http.MethodGet, "/healthz", "", nil)
	if status != 200 || string(body) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", status, body)
	}
	notReady := func() map[string]string {
		t.Helper()
		status, _, body := g.request(http.MethodGet, "/readyz", "", nil)
		if status == 200 {
			return nil
		}
		var r struct {
			Status   string            `json:"status"`
			NotReady map[string]string `json:"not_ready"`
		}
		if err := json.Unmarshal(body, &r); status != 503 || err != nil || r.Status != "not ready" {
			t.Fatalf("readyz: %d %s", status, body)
		}
		return r.NotReady
	}
	if nr := notReady(); len(nr) != 1 || nr["providers"] == "" {
		t.Fatalf("without a usable provider: %v", nr)
	}

	// A reload that adds the key makes it ready.
	writeConfig(t, g.configPath, baseConfig, up.srv.URL)
	if err := g.app.reload(); err != nil {
		t.Fatal(err)
	}
	if nr := notReady(); nr != nil {
		t.Fatalf("after reload: %v", nr)
	}

	// The prompt directory goes away, and comes back.
	prompts := filepath.Join(filepath.Dir(g.configPath), "prompts")
	moved := prompts + ".moved"
	if err := os.Rename(prompts, moved); err != nil {
		t.Fatal(err)
	}
	if nr := notReady(); len(nr) != 1 || !strings.Contains(nr["registry"], "prompt directory") {
		t.Fatalf("without the prompt directory: %v", nr)
	}
	if status, _, _ := g.request(http.MethodGet, "/healthz", "", nil); status != 200 {
		t.Errorf("healthz follows readiness: %d", status)
	}
	if err := os.Rename(moved, prompts); err != nil {
		t.Fatal(err)
	}
	if nr := notReady(); nr != nil {
		t.Fatalf("with the prompt directory back: %v", nr)
	}
}

func TestProtectedOpsEndpoints(t *testing.T) {
	up := newFakeOpenAI(t, false)
	g := startGateway(t, baseConfig+"\n", up)
	// Open by default, even with auth on for the APIs.
	writeConfig(t, g.configPath, strings.Replace(baseConfig, `shutdown_grace: 10s}`, `shutdown_grace: 10s, auth_keys: [k1]}`, 1), up.srv.URL)
	if err := g.app.reload(); err != nil {
		t.Fatal(err)
	}
	if status, _, body := g.request(http.MethodGet, "/metrics", "", nil); status != 200 {
		t.Fatalf("open /metrics: %d %s", status, body)
	}
	if status, out := g.run("demo", `{"variables":{"name":"x"}}`, nil); status != 401 || errorCodeOf(out) != "UNAUTHORIZED" {
		t.Fatalf("run without a key: %d %v", status, out)
	}

	writeConfig(t, g.configPath, strings.Replace(baseConfig, `shutdown_grace: 10s}`, `shutdown_grace: 10s, auth_keys: [k1], protect_ops: true}`, 1), up.srv.URL)
	if err := g.app.reload(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		status, _, body := g.request(http.MethodGet, path, "", nil)
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		if status != 401 || errorCodeOf(out) != "UNAUTHORIZED" {
			t.Errorf("%s without a key: %d %s", path, status, body)
		}
	}
	f := g.scrape(map[string]string{"Authorization": "Bearer k1"})
	if v, _ := sample(f, "tracegate_requests_total", map[string]string{"route": "ops", "status": "401"}); v != 3 {
		t.Errorf("refused ops requests counted %v", v)
	}
}
