package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/metrics"
)

// providerSleep is how long the fake providers of these tests wait before answering: the
// overhead tracegate reports must leave it out.
const providerSleep = 60 * time.Millisecond

// slowProvider answers like the providers would, by path (with or without /v1), after providerSleep: the OpenAI
// fake for chat, Responses (create, get, delete) and embeddings, the Anthropic fake for
// Messages and count_tokens. A body asking for a stream gets the recorded stream.
func slowProvider(t *testing.T) func(w http.ResponseWriter, r *http.Request, body []byte) {
	fx := map[string][]byte{}
	for _, name := range []string{"openai/plain_text.response.json", "openai/streaming_text.sse",
		"openai-responses/plain_text.response.json", "openai-responses/streaming_text.sse",
		"openai/embeddings.synthetic.json", "anthropic/plain_text.response.json", "anthropic/streaming_text.sse"} {
		fx[name] = fixture(t, name)
	}
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		select {
		case <-time.After(providerSleep):
		case <-r.Context().Done():
			return
		}
		stream := bytes.Contains(body, []byte(`"stream":true`))
		var reply []byte
		switch p := strings.TrimPrefix(r.URL.Path, "/v1"); {
		case p == "/chat/completions" && stream:
			reply = fx["openai/streaming_text.sse"]
		case p == "/chat/completions":
			reply = fx["openai/plain_text.response.json"]
		case p == "/responses" && stream:
			reply = fx["openai-responses/streaming_text.sse"]
		case strings.HasPrefix(p, "/responses"):
			reply = fx["openai-responses/plain_text.response.json"]
		case p == "/embeddings":
			reply = fx["openai/embeddings.synthetic.json"]
		case p == "/messages/count_tokens":
			reply = []byte(`{"input_tokens":14}`)
		case p == "/messages" && stream:
			reply = fx["anthropic/streaming_text.sse"]
		case p == "/messages":
			reply = fx["anthropic/plain_text.response.json"]
		case strings.HasPrefix(p, "/broken"):
			w.WriteHeader(http.StatusBadRequest)
			return
		default:
			t.Errorf("unexpected upstream path %s", p)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write(reply)
	}
}

type overheadCase struct {
	name, method, path, body string
	status                   int
}

// overheadCases covers every surface family, streams (timed to their headers), an error
// from the provider and one of tracegate's own.
var overheadCases = []overheadCase{
	{"run", "POST", "/api/v1/prompts/greet/run", `{"version":1,"model":"gpt-4o","variables":{"name":"Ada"}}`, 200},
	{"chat", "POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, 200},
	{"chat stream", "POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200},
	{"chat upstream error", "POST", "/v1/chat/completions", `{"model":"gpt-broken","messages":[{"role":"user","content":"hi"}]}`, 0},
	{"responses", "POST", "/v1/responses", `{"model":"gpt-4o-mini","input":"hi"}`, 200},
	{"responses stream", "POST", "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"hi"}`, 200},
	{"responses get", "GET", "/v1/responses/resp_123", ``, 200},
	{"responses delete", "DELETE", "/v1/responses/resp_123", ``, 200},
	{"messages", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`, 200},
	{"messages stream", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200},
	{"count_tokens", "POST", "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, 200},
	{"embeddings", "POST", "/v1/embeddings", `{"model":"openai/text-embedding-3-small","input":"hi"}`, 200},
	{"spans API off", "GET", "/api/v1/spans", ``, 0},
}

// brokenProvider routes gpt-broken to a provider whose every call is a 400, after the sleep.
const (
	brokenProvider = `  - {name: broken, type: openai, wire_api: chat, base_url: "${FAKE_OPENAI_URL}/broken", api_key: sk-broken-0000000000, timeout: 2s}`
	brokenRoute    = `  - {match: "gpt-broken", provider: broken}`
)

func overheadHarness(t *testing.T, obs Observer) *harness {
	answer := slowProvider(t)
	return newHarness(t, harnessOptions{openAIAnswer: answer, anthropicAnswer: answer, observer: obs,
		extraProviders: brokenProvider, extraRoutes: brokenRoute})
}

// send makes one request and returns the reply (its body read) and the time until its
// headers arrived.
func (h *harness) send(method, path, body string) (*http.Response, time.Duration) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	total := time.Since(began)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, total
}

func TestOverheadHeaderOnEverySurface(t *testing.T) {
	h := overheadHarness(t, nil)
	for _, c := range overheadCases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			resp, total := h.send(c.method, c.path, c.body)
			if c.status != 0 && resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status == 0 && resp.StatusCode < 400 {
				t.Fatalf("status %d, want an error", resp.StatusCode)
			}
			v := resp.Header.Values(metrics.OverheadHeader)
			if len(v) != 1 {
				t.Fatalf("%s: %q, want one value", metrics.OverheadHeader, v)
			}
			ms, err := strconv.ParseFloat(v[0], 64)
			if err != nil || ms < 0 {
				t.Fatalf("%s: %q is not a non-negative number of milliseconds (%v)", metrics.OverheadHeader, v[0], err)
			}
			overhead := time.Duration(ms * float64(time.Millisecond))
			if overhead >= providerSleep || overhead >= total {
				t.Errorf("overhead %v counts the provider's time: it slept %v, the reply took %v", overhead, providerSleep, total)
			}
		})
	}
}

// TestOverheadLeavesOutRetriedAttempts: both attempts' provider time is left out, the
// backoff between them (a few ms here) is not.
func TestOverheadLeavesOutRetriedAttempts(t *testing.T) {
	fail := upstreamReply{Status: 500, Delay: providerSleep, Body: []byte(`{"error":{"message":"boom","type":"server_error"}}`)}
	ok := okReply(t, "openai/plain_text.response.json")
	ok.Delay = providerSleep
	h := newHarness(t, harnessOptions{replies: []upstreamReply{fail, ok}})
	resp, total := h.send("POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || len(h.upstream.requests()) != 2 {
		t.Fatalf("status %d after %d attempts, want 200 after 2", resp.StatusCode, len(h.upstream.requests()))
	}
	ms, err := strconv.ParseFloat(resp.Header.Get(metrics.OverheadHeader), 64)
	if err != nil {
		t.Fatal(err)
	}
	if overhead := time.Duration(ms * float64(time.Millisecond)); overhead >= providerSleep || total < 2*providerSleep {
		t.Errorf("overhead %v of %v, with two attempts of %v each", overhead, total, providerSleep)
	}
}

func TestOverheadHistogramByRoute(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	h := overheadHarness(t, m)
	want := map[string]int{}
	for _, c := range overheadCases {
		h.send(c.method, c.path, c.body)
		route := routeOf([]byte(c.path))
		switch c.path { // routes the overload refusal does not tell apart
		case "/v1/embeddings":
			route = routeEmbeddings
		case "/api/v1/spans":
			route = routeSpans
		}
		want[route]++
	}
	// A stream reports when its relay has ended, just after its body was read.
	deadline := time.Now().Add(5 * time.Second)
	for route, n := range want {
		for {
			got := sampleCount(t, m, route)
			if got == n {
				break
			}
			if got > n || time.Now().After(deadline) {
				t.Errorf("route %s: %d observations, want %d", route, got, n)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func sampleCount(t *testing.T, m *metrics.Metrics, route string) int {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tracegate_overhead_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					return int(s.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return 0
}
