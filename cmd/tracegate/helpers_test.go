package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
)

// syncBuffer is a log sink safe to write from the server and read from the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jsonLines decodes every JSON log line.
func (b *syncBuffer) jsonLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// Replies of the fake OpenAI upstream.
const (
	fakeCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}`
	fakeStreamFirst = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}` + "\n\n"
	fakeStreamRest  = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}` + "\n\n" +
		"data: [DONE]\n\n"
)

// fakeOpenAI is an OpenAI-format provider on loopback. When gated, each reply (for a
// stream: everything after its first chunk) waits until release is closed, so a test holds
// a request in flight for exactly as long as it needs, with no sleeps.
type fakeOpenAI struct {
	srv     *httptest.Server
	arrived chan struct{}
	release chan struct{}
	once    sync.Once

	mu   sync.Mutex
	auth []string
}

func newFakeOpenAI(t *testing.T, gated bool) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{arrived: make(chan struct{}, 64), release: make(chan struct{})}
	if !gated {
		f.open()
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		stream := bytes.Contains(body, []byte(`"stream":true`))
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, fakeStreamFirst)
			w.(http.Flusher).Flush()
		}
		f.arrived <- struct{}{}
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		}
		if stream {
			io.WriteString(w, fakeStreamRest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, fakeCompletion)
	}))
	t.Cleanup(func() { f.open(); f.srv.Close() })
	return f
}

func (f *fakeOpenAI) open() { f.once.Do(func() { close(f.release) }) }

func (f *fakeOpenAI) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-f.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never received the request")
	}
}

func (f *fakeOpenAI) authHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

// testPrompts are the prompt files of the test gateway's file registry.
var testPrompts = map[string]string{
	"greet.yaml": `slug: greet
name: Greet
versions:
  - version: 1
    model: gpt-4o-mini
    messages:
      - {role: user, content: "Say hello to {{name}}. zebra-quartz-marker"}
`,
	"demo.yaml": `slug: demo
name: Demo on the mock provider
versions:
  - version: 1
    model: mock-1
    messages:
      - {role: user, content: "Hello {{name}}"}
`,
}

// baseConfig is a gateway config with a fake OpenAI provider (UPSTREAM is replaced by its
// URL) and the mock provider; tests append keys to it.
const baseConfig = `
server: {listen: "127.0.0.1:0", shutdown_grace: 10s}
registry: {sources: [{type: file, path: ./prompts}]}
providers:
  - {name: openai, type: openai, base_url: "UPSTREAM", api_key: "sk-test-fake-upstream-key", timeout: 10s}
  - {name: mock, type: mock}
routes:
  - {match: "mock-*", provider: mock}
  - {match: "gpt-*", provider: openai}
retry: {max_attempts: 1}
pricing: {overrides: {mock-1: {input_per_token: 0.000001, output_per_token: 0.000002}}}
spans: {exporter: none}
log: {level: debug, format: json}
`

// testGateway is the whole gateway as main runs it, on loopback, from a config file in a
// temporary directory.
type testGateway struct {
	t          *testing.T
	app        *app
	base       string
	configPath string
	logs       *syncBuffer
	stopOnce   sync.Once
}

// writeConfig writes yaml as the gateway's config file, with UPSTREAM replaced.
func writeConfig(t *testing.T, path, yaml, upstream string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(yaml, "UPSTREAM", upstream)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startGateway(t *testing.T, yaml string, up *fakeOpenAI) *testGateway {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range testPrompts {
		if err := os.WriteFile(filepath.Join(dir, "prompts", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g := &testGateway{t: t, configPath: filepath.Join(dir, "config.yaml"), logs: &syncBuffer{}}
	writeConfig(t, g.configPath, yaml, up.srv.URL)
	cfg, err := config.Load(g.configPath)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log, level := newLogger(cfg.Log, g.logs)
	g.app, err = start(cfg, g.configPath, log, level)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	g.base = "http://" + g.app.addr()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.stop(ctx)
	})
	return g
}

// stop drains the gateway once.
func (g *testGateway) stop(ctx context.Context) {
	g.stopOnce.Do(func() { g.app.shutdown(ctx) })
}

// request sends a request with a fresh connection and returns status, headers and body.
func (g *testGateway) request(method, path, body string, header map[string]string) (int, http.Header, []byte) {
	g.t.Helper()
	status, hdr, raw, err := g.tryRequest(method, path, body, header)
	if err != nil {
		g.t.Fatal(err)
	}
	return status, hdr, raw
}

func (g *testGateway) tryRequest(method, path, body string, header map[string]string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

// run posts a run and decodes its JSON reply.
func (g *testGateway) run(slug, body string, header map[string]string) (int, map[string]any) {
	g.t.Helper()
	status, _, raw := g.request(http.MethodPost, "/api/v1/prompts/"+slug+"/run", body, header)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		g.t.Fatalf("run %s: %d %s", slug, status, raw)
	}
	return status, out
}

func errorCodeOf(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// waitFor polls cond, boundedly, and fails the test with what if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
