package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSpanStoreWiring: the gateway as main builds it records runs and ingested spans in the
// span store, serves them through the spans API, keeps them across a reload, and flushes the
// store on shutdown.
func TestSpanStoreWiring(t *testing.T) {
	up := newFakeOpenAI(t, false)
	g := startGateway(t, baseConfig, up)
	status, run := g.run("demo", `{"variables":{"name":"Ada"},"userId":"u_store"}`, nil)
	if status != 200 {
		t.Fatalf("run: %d %v", status, run)
	}
	span := `{"spanId":"sp_5151515151515151","model":"mock-1","provider":"openai","input":{"messages":[{"role":"user","content":"x"}]},` +
		`"status":"SUCCESS","latencyMs":5,"inputTokens":10,"outputTokens":10,"totalTokens":20,"userId":"u_store",` +
		`"traceId":"` + run["traceId"].(string) + `","parentSpanId":"` + run["spanId"].(string) + `"}`
	status, _, raw := g.request(http.MethodPost, "/api/v1/spans", span, nil)
	if status != 200 {
		t.Fatalf("POST /api/v1/spans: %d %s", status, raw)
	}
	var created map[string]any
	if err := json.Unmarshal(raw, &created); err != nil || created["cost"] != 0.00003 {
		t.Errorf("created %s: want the mock-1 override's price 10x1e-6 + 10x2e-6", raw)
	}

	// A store change needs a restart: the reload says so and the records stay.
	writeConfig(t, g.configPath, baseConfig+"store: {type: memory, max_spans: 50}\n", up.srv.URL)
	if err := g.app.reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !strings.Contains(g.logs.String(), `"store"`) {
		t.Errorf("reload with a new store block did not name store among the restart-only keys: %s", g.logs.String())
	}
	status, _, raw = g.request(http.MethodGet, "/api/v1/spans?userId=u_store", "", nil)
	var page struct {
		Spans []struct {
			SpanID       string `json:"spanId"`
			ParentSpanID string `json:"parentSpanId"`
		} `json:"spans"`
	}
	if err := json.Unmarshal(raw, &page); status != 200 || err != nil {
		t.Fatalf("list after reload: %d %s", status, raw)
	}
	if len(page.Spans) != 2 || page.Spans[0].SpanID != "sp_5151515151515151" || page.Spans[0].ParentSpanID != run["spanId"] ||
		page.Spans[1].SpanID != run["spanId"] {
		t.Errorf("listed %s, want the ingested span under the run, newest first", raw)
	}

	if _, _, raw := g.request(http.MethodGet, "/metrics", "", nil); !strings.Contains(string(raw), "tracegate_span_store_dropped_total 0") {
		t.Errorf("/metrics lacks the span store's counters")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.stop(ctx)
	if q := g.app.store.Stats(); q.Queued != 0 || q.Failed != 0 {
		t.Errorf("store after shutdown: %+v, want every record written", q)
	}
}

// TestSQLiteSpanStoreSurvivesARestart: with store.type sqlite, the records written at shutdown
// are there after the next start.
func TestSQLiteSpanStoreSurvivesARestart(t *testing.T) {
	up := newFakeOpenAI(t, false)
	db := filepath.Join(t.TempDir(), "spans.db")
	cfg := baseConfig + "store: {type: sqlite, path: \"" + db + "\"}\n"
	g := startGateway(t, cfg, up)
	status, run := g.run("demo", `{"variables":{"name":"Ada"}}`, nil)
	if status != 200 {
		t.Fatalf("run: %d %v", status, run)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.stop(ctx)

	g2 := startGateway(t, cfg, up)
	status, _, raw := g2.request(http.MethodGet, "/api/v1/spans/"+run["spanId"].(string), "", nil)
	var span map[string]any
	if err := json.Unmarshal(raw, &span); status != 200 || err != nil || span["promptSlug"] != "demo" || span["traceId"] != run["traceId"] {
		t.Errorf("after a restart: %d %s", status, raw)
	}
}
