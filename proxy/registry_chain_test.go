package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// chainNode is one tracegate on loopback with the mock provider and a given registry.
type chainNode struct {
	base  string
	spans *tracetest.InMemoryExporter
	stop  func()
}

func startChainNode(t *testing.T, reg *registry.Registry, authKeys ...string) *chainNode {
	t.Helper()
	router, err := provider.NewRouter(
		[]config.Provider{{Name: "mock", Type: "mock"}},
		[]config.Route{{Match: "mock-*", Provider: "mock"}})
	if err != nil {
		t.Fatal(err)
	}
	table, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{
		Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{MaxAttempts: 1}, nil),
		Prices:     table,
	}
	for _, k := range authKeys {
		rt.AuthKeys = append(rt.AuthKeys, []byte(k))
	}
	exp := tracetest.NewInMemoryExporter()
	rec := spans.NewWithExporter(exp, spans.Options{ServiceName: "tracegate-chain-test"}, true)
	log := chainDiscardLog()
	srv := New(Options{MaxBodyBytes: 1 << 20, ReadTimeout: 5 * time.Second}, reg, rec, log, rt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return &chainNode{base: "http://" + ln.Addr().String(), spans: exp, stop: stop}
}

// call sends a request to the node and decodes its JSON reply.
func (n *chainNode) call(t *testing.T, method, path, body, key string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: reply is not a JSON object (%d): %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (n *chainNode) run(t *testing.T, slug, body, key string) (int, map[string]any) {
	t.Helper()
	return n.call(t, http.MethodPost, "/api/v1/prompts/"+slug+"/run", body, key)
}

func chainErrorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// runSpanStale reports the tracegate.template.stale attribute of the last run span for slug.
func (n *chainNode) runSpanStale(t *testing.T, slug string) bool {
	t.Helper()
	got := n.spans.GetSpans()
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].Name != "run "+slug {
			continue
		}
		for _, a := range got[i].Attributes {
			if a.Key == "tracegate.template.stale" {
				return a.Value.AsBool()
			}
		}
		return false
	}
	t.Fatalf("no run span for %s", slug)
	return false
}

func newUpstreamCache(t *testing.T, o registry.HTTPOptions, c registry.CacheOptions) *registry.Cache {
	t.Helper()
	src, err := registry.NewHTTPSource(o)
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewCache(src, c, chainDiscardLog())
}

func chainDiscardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Instance B has only its own file source and instance A as upstream; a run on B of a slug only
// A has succeeds, B lists and serves A's prompts in the same shapes, and when A goes away B
// keeps serving what it fetched, marked stale.
func TestTracegateServesAsAnotherTracegatesRegistry(t *testing.T) {
	const fleetKey = "sk-fleet-registry-key"
	a := startChainNode(t, registry.New(registry.NewFileSource("testdata/prompts", chainDiscardLog())), fleetKey)

	localDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(localDir, "local.yaml"),
		[]byte("versions: [{version: 1, model: mock-1, messages: [{role: user, content: \"local {{x}}\"}]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// TTL 0: every lookup revalidates, so the outage below is seen on the next run.
	upstream := newUpstreamCache(t, registry.HTTPOptions{BaseURL: a.base, APIKey: fleetKey, Timeout: 2 * time.Second},
		registry.CacheOptions{TTL: 0, StaleIfError: time.Hour, NegativeTTL: time.Second})
	b := startChainNode(t, registry.New(registry.NewFileSource(localDir, chainDiscardLog()), upstream))

	status, out := b.run(t, "demo", `{"variables":{"name":"Ada"}}`, "")
	if status != http.StatusOK {
		t.Fatalf("run on B of A's slug: %d %v", status, out)
	}
	if out["promptVersion"] != float64(1) || out["text"] == nil {
		t.Fatalf("run result = %v", out)
	}
	msgs, _ := out["messages"].([]any)
	if len(msgs) == 0 || !strings.Contains(chainJSON(t, msgs[0]), "Hello Ada") {
		t.Fatalf("rendered messages = %v", msgs)
	}

	// Pinned versions and version-specific settings survive the trip.
	status, out = b.run(t, "greet", `{"version":2,"model":"mock-1","variables":{"name":"A","city":"B","topic":"C"}}`, "")
	if status != http.StatusOK || out["promptVersion"] != float64(2) {
		t.Fatalf("pinned version 2 through B: %d %v", status, out)
	}

	// GET /api/v1/prompts/{slug} on B is the same shape A serves.
	_, fromA := a.call(t, http.MethodGet, "/api/v1/prompts/greet", "", fleetKey)
	_, fromB := b.call(t, http.MethodGet, "/api/v1/prompts/greet", "", "")
	if chainJSON(t, fromA) != chainJSON(t, fromB) {
		t.Fatalf("B serves a different prompt than A:\nA: %s\nB: %s", chainJSON(t, fromA), chainJSON(t, fromB))
	}

	// The list merges B's own prompts with A's.
	status, out = b.call(t, http.MethodGet, "/api/v1/prompts", "", "")
	if status != http.StatusOK {
		t.Fatalf("list on B: %d %v", status, out)
	}
	var slugs []string
	for _, it := range out["prompts"].([]any) {
		slugs = append(slugs, it.(map[string]any)["slug"].(string))
	}
	if got := strings.Join(slugs, ","); got != "contact,demo,greet,local,weather" {
		t.Fatalf("list on B = %s", got)
	}

	status, out = b.run(t, "nowhere", `{}`, "")
	if status != http.StatusNotFound || chainErrorCode(out) != "NOT_FOUND" {
		t.Fatalf("unknown slug: %d %v", status, out)
	}

	// A goes away: what B fetched keeps serving, stale; what it never fetched is NETWORK_ERROR.
	a.stop()
	status, out = b.run(t, "demo", `{"variables":{"name":"Ada"}}`, "")
	if status != http.StatusOK {
		t.Fatalf("run on B with A down: %d %v", status, out)
	}
	if !b.runSpanStale(t, "demo") {
		t.Error("the run span of a stale template is not marked tracegate.template.stale")
	}
	status, out = b.run(t, "weather", `{"variables":{"question":"q"}}`, "")
	if status != http.StatusServiceUnavailable || chainErrorCode(out) != "NETWORK_ERROR" {
		t.Fatalf("uncached slug with A down: %d %v", status, out)
	}
	if status, out = b.run(t, "local", `{"variables":{"x":"y"}}`, ""); status != http.StatusOK {
		t.Fatalf("B's own prompt with A down: %d %v", status, out)
	}
}

// With pass_caller_key, B forwards each caller's key to A; a key A refuses fails the run
// without being mistaken for a missing prompt.
func TestChainedTracegatePassesTheCallerKey(t *testing.T) {
	const good = "sk-good-caller-key"
	a := startChainNode(t, registry.New(registry.NewFileSource("testdata/prompts", chainDiscardLog())), good)
	upstream := newUpstreamCache(t, registry.HTTPOptions{BaseURL: a.base, PassCallerKey: true, Timeout: 2 * time.Second},
		registry.CacheOptions{TTL: time.Minute, StaleIfError: time.Hour, NegativeTTL: time.Second})
	b := startChainNode(t, registry.New(upstream))

	if status, out := b.run(t, "demo", `{"variables":{"name":"x"}}`, good); status != http.StatusOK {
		t.Fatalf("good key: %d %v", status, out)
	}
	status, out := b.run(t, "demo", `{"variables":{"name":"x"}}`, "sk-wrong")
	if status != http.StatusServiceUnavailable || chainErrorCode(out) != "NETWORK_ERROR" {
		t.Fatalf("wrong key: %d %v, want 503 NETWORK_ERROR (not a cached success, not 404)", status, out)
	}
	if msg := chainJSON(t, out); !strings.Contains(msg, "401") || strings.Contains(msg, "sk-wrong") {
		t.Errorf("error should name the upstream status and never the key: %s", msg)
	}
}

func TestRunsOfAColdSlugShareOneUpstreamRequest(t *testing.T) {
	var asked atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 1 {
			arrived <- struct{}{}
		}
		<-release
		w.Write([]byte(`{"slug":"cold","currentVersion":4,"model":"mock-1","content":[{"role":"user","content":"hi"}]}`))
	}))
	defer up.Close()
	b := startChainNode(t, registry.New(newUpstreamCache(t, registry.HTTPOptions{BaseURL: up.URL},
		registry.CacheOptions{TTL: time.Minute, StaleIfError: time.Hour})))

	const runs = 100
	var wg sync.WaitGroup
	statuses := make(chan int, runs)
	wg.Add(runs)
	for i := 0; i < runs; i++ {
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, b.base+"/api/v1/prompts/cold/run", strings.NewReader(`{}`))
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream registry was never asked")
	}
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("a run answered %d", s)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("100 runs of a cold slug asked the upstream %d times, want 1", n)
	}
}

func TestRunAgainstAHangingRegistryTimesOut(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer up.Close()
	defer close(release)
	b := startChainNode(t, registry.New(newUpstreamCache(t, registry.HTTPOptions{BaseURL: up.URL, Timeout: 100 * time.Millisecond},
		registry.CacheOptions{TTL: time.Minute})))

	status, out := b.run(t, "slow", `{}`, "")
	if status != http.StatusGatewayTimeout || chainErrorCode(out) != "TIMEOUT" {
		t.Fatalf("hanging registry: %d %v, want 504 TIMEOUT", status, out)
	}
}

func chainJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
