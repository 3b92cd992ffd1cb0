package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fasthttp"
)

// gatedUpstream is an OpenAI-format provider whose replies wait until release is closed, so a
// test can hold a request in flight for exactly as long as it needs.
type gatedUpstream struct {
	srv     *httptest.Server
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedUpstream(t *testing.T, body []byte) *gatedUpstream {
	t.Helper()
	g := &gatedUpstream{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(func() { g.open(); g.srv.Close() })
	return g
}

// open lets every held and future request through.
func (g *gatedUpstream) open() { g.once.Do(func() { close(g.release) }) }

// waitArrived waits, boundedly, until the upstream has received a request.
func (g *gatedUpstream) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never received the request")
	}
}

// countingObserver records what the server reports.
type countingObserver struct {
	mu       sync.Mutex
	requests []metrics.RequestSummary
	streams  atomic.Int64
}

func (o *countingObserver) RequestDone(r metrics.RequestSummary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, r)
}
func (o *countingObserver) AttemptDone(metrics.AttemptSummary) {}
func (o *countingObserver) StreamStarted()                     { o.streams.Add(1) }
func (o *countingObserver) StreamEnded()                       { o.streams.Add(-1) }

func (o *countingObserver) byRoute(route string) []metrics.RequestSummary {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []metrics.RequestSummary
	for _, r := range o.requests {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

// opsServer is a tracegate server set up for the ops and limits tests: unlike the shared
// harness, it lets a test configure the server before it serves.
type opsServer struct {
	*harness
	obs *countingObserver
}

type opsServerOptions struct {
	upstreamURL   string
	openAIKey     string // "" leaves the openai provider without a key
	withMock      bool
	authKeys      []string
	protectOps    bool
	maxConcurrent int
	setup         func(*Server)
}

func newOpsServer(t *testing.T, o opsServerOptions) *opsServer {
	t.Helper()
	if o.upstreamURL == "" {
		o.upstreamURL = "http://127.0.0.1:9" // never called by these tests
	}
	yaml := `
registry: {sources: [{type: file, path: testdata/prompts}]}
providers:
  - {name: openai, type: openai, base_url: "` + o.upstreamURL + `", api_key: "` + o.openAIKey + `", timeout: 5s}
`
	routes := "routes:\n  - {match: \"gpt-*\", provider: openai}\n"
	if o.withMock {
		yaml += "  - {name: mock, type: mock}\n"
		routes += "  - {match: \"mock-*\", provider: mock}\n"
	}
	yaml += routes + "retry: {max_attempts: 1}\nspans: {exporter: none}\n"
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	rt := newTestRuntime(t, cfg)
	for _, k := range o.authKeys {
		rt.AuthKeys = append(rt.AuthKeys, []byte(k))
	}
	rt.ProtectOps = o.protectOps
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := spans.NewWithExporter(nil, spans.Options{ServiceName: "tracegate-test"}, true)
	srv := New(Options{MaxBodyBytes: 1 << 20, ReadTimeout: 5 * time.Second, MaxConcurrent: o.maxConcurrent},
		registry.New(registry.NewFileSource("testdata/prompts", log)), rec, log, rt)
	obs := &countingObserver{}
	srv.SetObserver(obs)
	if o.setup != nil {
		o.setup(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &opsServer{harness: &harness{t: t, base: "http://" + ln.Addr().String(), server: srv}, obs: obs}
}

func newTestRuntime(t *testing.T, cfg *config.Config) *Runtime {
	t.Helper()
	router, err := provider.NewRouter(cfg.Providers, cfg.Routes)
	if err != nil {
		t.Fatal(err)
	}
	table, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return &Runtime{
		Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{MaxAttempts: 1}, cfg.Fallbacks),
		Prices:     table,
	}
}

// get sends a GET and returns the status, headers and raw body.
func (h *harness) get(path string, header map[string]string) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestHealthzAlwaysOK(t *testing.T) {
	// No usable provider: not ready, but alive.
	s := newOpsServer(t, opsServerOptions{})
	status, hdr, body := s.get("/healthz", nil)
	if status != 200 || string(body) != `{"status":"ok"}` || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("healthz: %d %q %q", status, hdr.Get("Content-Type"), body)
	}
	status, _, out := s.do(http.MethodPost, "/healthz", "{}", nil)
	if code, _ := errorCode(t, out); status != 405 || code != "INVALID_REQUEST" {
		t.Errorf("POST /healthz: %d %s", status, code)
	}
	if got := s.obs.byRoute(metrics.RouteOps); len(got) != 2 || got[0].Status != 200 || got[1].Status != 405 {
		t.Errorf("ops requests reported: %+v", got)
	}
}

func readyzReplyOf(t *testing.T, body []byte) readyzReply {
	t.Helper()
	var r readyzReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return r
}

func TestReadyzTransitions(t *testing.T) {
	var registryDown atomic.Bool
	s := newOpsServer(t, opsServerOptions{setup: func(srv *Server) {
		srv.AddReadinessCheck("registry", func(context.Context) error {
			if registryDown.Load() {
				return errors.New("prompt directory: permission denied")
			}
			return nil
		})
	}})

	// The only provider has no key.
	status, _, body := s.get("/readyz", nil)
	r := readyzReplyOf(t, body)
	if status != 503 || r.Status != "not ready" || !strings.Contains(r.NotReady["providers"], "no provider is usable") || len(r.NotReady) != 1 {
		t.Fatalf("no usable provider: %d %s", status, body)
	}

	// A reload that brings a key makes it ready.
	cfg, err := config.Parse([]byte(`
registry: {sources: [{type: file, path: testdata/prompts}]}
providers: [{name: openai, type: openai, api_key: sk-test-000000000000}]
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	s.server.SetRuntime(newTestRuntime(t, cfg))
	status, _, body = s.get("/readyz", nil)
	if status != 200 || string(body) != `{"status":"ready"}` {
		t.Fatalf("ready: %d %s", status, body)
	}

	registryDown.Store(true)
	status, _, body = s.get("/readyz", nil)
	r = readyzReplyOf(t, body)
	if status != 503 || r.NotReady["registry"] != "prompt directory: permission denied" || len(r.NotReady) != 1 {
		t.Fatalf("registry down: %d %s", status, body)
	}
	registryDown.Store(false)

	// Draining: in-process check, since the listener is closed by then.
	s.server.draining.Store(true)
	failing := s.server.Readiness(context.Background())
	if len(failing) != 1 || !strings.Contains(failing["shutdown"], "shutting down") {
		t.Fatalf("draining: %v", failing)
	}
}

func TestOpsEndpointsOpenByDefault(t *testing.T) {
	s := newOpsServer(t, opsServerOptions{withMock: true, authKeys: []string{"k1"}, setup: func(srv *Server) {
		srv.SetMetricsHandler(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("tracegate_up 1\n") })
	}})
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if status, _, body := s.get(path, nil); status != 200 {
			t.Errorf("%s without a key: %d %s", path, status, body)
		}
	}
	// The APIs themselves still want the key.
	status, _, out := s.run("demo", map[string]any{"variables": map[string]string{"name": "x"}})
	if code, _ := errorCode(t, out); status != 401 || code != "UNAUTHORIZED" {
		t.Errorf("run without a key: %d %s", status, code)
	}
}

func TestProtectOpsRequiresKey(t *testing.T) {
	s := newOpsServer(t, opsServerOptions{withMock: true, authKeys: []string{"k1", "k2"}, protectOps: true, setup: func(srv *Server) {
		srv.SetMetricsHandler(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("tracegate_up 1\n") })
	}})
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}} {
			status, h, body := s.get(path, hdr)
			var out map[string]any
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("%s: %s", path, body)
			}
			if code, msg := errorCode(t, out); status != 401 || code != "UNAUTHORIZED" || msg == "" {
				t.Errorf("%s %v: %d %s", path, hdr, status, body)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", path, h.Get("WWW-Authenticate"))
			}
		}
		if status, _, body := s.get(path, map[string]string{"Authorization": "Bearer k2"}); status != 200 {
			t.Errorf("%s with a key: %d %s", path, status, body)
		}
	}
	if _, _, body := s.get("/metrics", map[string]string{"Authorization": "Bearer k1"}); string(body) != "tracegate_up 1\n" {
		t.Errorf("metrics body %q", body)
	}
}

func TestMetricsWithoutHandlerIsNotFound(t *testing.T) {
	s := newOpsServer(t, opsServerOptions{withMock: true})
	status, _, out := s.do(http.MethodGet, "/metrics", nil, nil)
	if code, _ := errorCode(t, out); status != 404 || code != "NOT_FOUND" {
		t.Errorf("%d %s", status, code)
	}
}
