package proxy

import (
	"bytes"
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
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// fakeUpstream is a provider on loopback that replays recorded replies and records what it
// received.
type fakeUpstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []upstreamRequest
	replies []upstreamReply
	// cancelled receives one value each time a request's context ends before its reply was
	// fully written (the client, i.e. tracegate, went away).
	cancelled chan struct{}
	// answer, when set, answers every request instead of replies (a provider that reacts to
	// what it is sent).
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
}

type upstreamRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

type upstreamReply struct {
	Status int
	Header map[string]string
	Body   []byte
	Delay  time.Duration
	// Chunks, when set, are written one by one with ChunkDelay between them and a flush after
	// each, like a live stream.
	Chunks     [][]byte
	ChunkDelay time.Duration
}

func newFakeUpstream(t *testing.T, replies ...upstreamReply) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{replies: replies, cancelled: make(chan struct{}, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, upstreamRequest{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		if answer := f.answer; answer != nil {
			f.mu.Unlock()
			answer(w, r, body)
			return
		}
		reply := f.replies[0]
		if len(f.replies) > 1 {
			f.replies = f.replies[1:]
		}
		f.mu.Unlock()
		if reply.Delay > 0 {
			select {
			case <-time.After(reply.Delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		for k, v := range reply.Header {
			w.Header().Set(k, v)
		}
		if reply.Status == 0 {
			reply.Status = http.StatusOK
		}
		w.WriteHeader(reply.Status)
		w.Write(reply.Body)
		for _, c := range reply.Chunks {
			w.Write(c)
			w.(http.Flusher).Flush()
			select {
			case <-time.After(reply.ChunkDelay):
			case <-r.Context().Done():
				f.cancelled <- struct{}{}
				return
			}
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) setAnswer(a func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func (f *fakeUpstream) requests() []upstreamRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upstreamRequest(nil), f.got...)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func okReply(t *testing.T, name string) upstreamReply {
	return upstreamReply{Status: 200, Body: fixture(t, name)}
}

// harness is a running tracegate with an OpenAI-format fake upstream and in-memory spans.
type harness struct {
	t         *testing.T
	base      string
	upstream  *fakeUpstream
	anthropic *fakeUpstream
	gemini    *fakeUpstream
	spans     *tracetest.InMemoryExporter
	server    *Server
}

type harnessOptions struct {
	replies          []upstreamReply
	anthropicReplies []upstreamReply
	geminiReplies    []upstreamReply
	authKeys         []string
	extraYAML        string
	openAIKey        string
	maxBody          int
	// promptDir, when set, replaces testdata/prompts; writablePrompts lets the API write it.
	promptDir       string
	writablePrompts bool
	// anthropicAnswer and openAIAnswer make those fakes answer dynamically (fakeUpstream.answer).
	anthropicAnswer, openAIAnswer, geminiAnswer func(w http.ResponseWriter, r *http.Request, body []byte)
	// extraProviders and extraRoutes are YAML list entries added to providers and (first,
	// so they win) to routes.
	extraProviders string
	extraRoutes    string
	// observer, when set, is installed before the server starts.
	observer Observer
	// captureContent is spans.capture_content.
	captureContent bool
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	if len(o.replies) == 0 {
		o.replies = []upstreamReply{okReply(t, "openai/plain_text.response.json")}
	}
	up := newFakeUpstream(t, o.replies...)
	up.setAnswer(o.openAIAnswer)
	anth, gem := up, up
	if len(o.anthropicReplies) > 0 || o.anthropicAnswer != nil {
		anth = newFakeUpstream(t, o.anthropicReplies...)
		anth.setAnswer(o.anthropicAnswer)
	}
	if len(o.geminiReplies) > 0 || o.geminiAnswer != nil {
		gem = newFakeUpstream(t, o.geminiReplies...)
		gem.setAnswer(o.geminiAnswer)
	}
	if o.openAIKey == "" {
		o.openAIKey = "sk-test-secret-key-123456"
	}
	env := map[string]string{"FAKE_OPENAI_URL": up.srv.URL, "TEST_OPENAI_KEY": o.openAIKey,
		"FAKE_ANTHROPIC_URL": anth.srv.URL, "FAKE_GEMINI_URL": gem.srv.URL}
	if o.openAIKey == "-" {
		env["TEST_OPENAI_KEY"] = ""
	}
	yaml := `
server: {listen: "127.0.0.1:0", max_body_bytes: ` + itoa(o.maxBody, 1<<20) + `}
registry:
  sources: [{type: file, path: testdata/prompts}]
providers:
  - {name: openai, type: openai, base_url: "${FAKE_OPENAI_URL}", api_key: "${TEST_OPENAI_KEY:-}", timeout: 2s}
  - {name: anthropic, type: anthropic, base_url: "${FAKE_ANTHROPIC_URL}", api_key: sk-ant-test-key-0000000000, timeout: 2s}
  - {name: google, type: gemini, base_url: "${FAKE_GEMINI_URL}", api_key: AIzaTestKey00000000000000000, timeout: 2s}
  - {name: mock, type: mock}
` + o.extraProviders + `
routes:
` + o.extraRoutes + `
  - {match: "mock-*", provider: mock}
  - {match: "gpt-*", provider: openai}
  - {match: "claude-*", provider: anthropic}
  - {match: "gemini-*", provider: google}
retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 5ms}
pricing:
  overrides: {mock-1: {input_per_token: 0.000001, output_per_token: 0.000002}}
spans: {exporter: none}
` + o.extraYAML
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Server.AuthKeys = o.authKeys

	router, err := provider.NewRouter(cfg.Providers, cfg.Routes)
	if err != nil {
		t.Fatal(err)
	}
	table, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	table = table.WithOverrides(map[string]pricing.Price{"mock-1": {InputPerToken: 0.000001, OutputPerToken: 0.000002}})
	rt := &Runtime{
		Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{
			MaxAttempts: cfg.Retry.MaxAttempts, InitialBackoff: cfg.Retry.InitialBackoff.D(), MaxBackoff: cfg.Retry.MaxBackoff.D(),
		}, cfg.Fallbacks),
		Prices: table,
	}
	for _, k := range o.authKeys {
		rt.AuthKeys = append(rt.AuthKeys, []byte(k))
	}
	exp := tracetest.NewInMemoryExporter()
	rec := spans.NewWithExporter(exp, spans.Options{ServiceName: "tracegate-test", CaptureContent: o.captureContent}, true)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := registry.New(registry.NewFileSource("testdata/prompts", log))
	if o.promptDir != "" {
		src := registry.NewFileSource(o.promptDir, log)
		if o.writablePrompts {
			src = registry.NewWritableFileSource(o.promptDir, log)
		}
		reg = registry.New(src)
	}
	srv := New(Options{MaxBodyBytes: cfg.Server.MaxBodyBytes, ReadTimeout: 5 * time.Second}, reg, rec, log, rt)
	if o.observer != nil {
		srv.SetObserver(o.observer)
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
	return &harness{t: t, base: "http://" + ln.Addr().String(), upstream: up, anthropic: anth, gemini: gem, spans: exp, server: srv}
}

func itoa(n, def int) string {
	if n == 0 {
		n = def
	}
	b, _ := json.Marshal(n)
	return string(b)
}

// do sends a request and decodes a JSON reply into a generic map.
func (h *harness) do(method, path string, body any, header map[string]string) (int, http.Header, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("%s %s: reply is not a JSON object (%d): %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, out
}

func (h *harness) run(slug string, body any) (int, http.Header, map[string]any) {
	h.t.Helper()
	return h.do(http.MethodPost, "/api/v1/prompts/"+slug+"/run", body, nil)
}

// errorCode extracts error.code from an error reply.
func errorCode(t *testing.T, out map[string]any) (string, string) {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", out)
	}
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code, msg
}

// sseReply replays a recorded SSE transcript in one write.
func sseReply(t *testing.T, name string) upstreamReply {
	return upstreamReply{Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Body: fixture(t, name)}
}

// newTranslatedHarness starts a harness whose Anthropic fake (for claude-* models) or Gemini
// fake (for the others) replays replies, and returns that fake.
func newTranslatedHarness(t *testing.T, model string, replies ...upstreamReply) (*harness, *fakeUpstream) {
	t.Helper()
	if strings.HasPrefix(model, "claude") {
		h := newHarness(t, harnessOptions{anthropicReplies: replies})
		return h, h.anthropic
	}
	h := newHarness(t, harnessOptions{geminiReplies: replies})
	return h, h.gemini
}
