package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
)

type scripted struct {
	status int
	header map[string]string
	body   string
}

// scriptedServer answers each request with the next scripted reply (the last one repeats)
// and counts requests.
type scriptedServer struct {
	*httptest.Server
	mu      sync.Mutex
	replies []scripted
	bodies  []string
}

func newScripted(t *testing.T, replies ...scripted) *scriptedServer {
	s := &scriptedServer{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		rep := s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
		s.mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scriptedServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func readFixture(t *testing.T, name string) string {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newTestDispatcher routes "gpt-*" to an OpenAI-format server, "claude-*" to an Anthropic one
// and "gemini-*" to a Gemini one, and records backoff waits instead of sleeping.
func newTestDispatcher(t *testing.T, openaiURL, anthropicURL, geminiURL string, fallbacks map[string][]string) (*Dispatcher, *[]time.Duration) {
	t.Helper()
	provs := []config.Provider{{Name: "mock", Type: "mock"}}
	routes := []config.Route{{Match: "mock-*", Provider: "mock"}}
	add := func(name, typ, url, glob string) {
		if url != "" {
			provs = append(provs, config.Provider{Name: name, Type: typ, BaseURL: url, APIKey: "sk-test-key-abcdefghijkl", Timeout: config.Duration(2 * time.Second)})
			routes = append(routes, config.Route{Match: glob, Provider: name})
		}
	}
	add("openai", "openai", openaiURL, "gpt-*")
	add("anthropic", "anthropic", anthropicURL, "claude-*")
	add("google", "gemini", geminiURL, "gemini-*")
	r, err := NewRouter(provs, routes)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(r, RetryPolicy{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}, fallbacks)
	var waits []time.Duration
	d.sleep = func(ctx context.Context, w time.Duration) error { waits = append(waits, w); return ctx.Err() }
	return d, &waits
}

func simpleRequest() *llm.Request {
	return &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}}}
}

type attemptLog struct {
	mu   sync.Mutex
	list []string
}

func (l *attemptLog) observe(a Attempt) func(*llm.Response, error) {
	return func(_ *llm.Response, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		outcome := "ok"
		if err != nil {
			outcome = "err"
		}
		l.list = append(l.list, a.Target.Backend.Name+"/"+a.Target.Model+":"+outcome)
	}
}

func TestRetryHonoursRetryAfterThenSucceeds(t *testing.T) {
	srv := newScripted(t,
		scripted{429, map[string]string{"Retry-After": "1"}, `{"error":{"message":"slow down","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}`},
		scripted{503, map[string]string{"retry-after-ms": "250"}, `{"error":{"message":"busy","type":"server_error"}}`},
		scripted{200, nil, readFixture(t, "openai_plain_text.response.json")},
	)
	d, waits := newTestDispatcher(t, srv.URL, "", "", nil)
	var log attemptLog
	res, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), log.observe)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Text == "" || srv.count() != 3 {
		t.Fatalf("text %q after %d requests", res.Response.Text, srv.count())
	}
	if len(*waits) != 2 || (*waits)[0] != time.Second || (*waits)[1] != 250*time.Millisecond {
		t.Errorf("waits %v, want [1s 250ms] from the provider's hints", *waits)
	}
	if strings.Join(log.list, ",") != "openai/gpt-4o-mini:err,openai/gpt-4o-mini:err,openai/gpt-4o-mini:ok" {
		t.Errorf("attempts %v", log.list)
	}
}

func TestRetryAfterIsCappedByMaxBackoff(t *testing.T) {
	srv := newScripted(t, scripted{429, map[string]string{"Retry-After": "600"}, `{"error":{"message":"x","type":"rate_limit_exceeded"}}`})
	d, waits := newTestDispatcher(t, srv.URL, "", "", nil)
	_, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Status != 429 {
		t.Fatalf("want the 429, got %v", err)
	}
	for _, w := range *waits {
		if w != 2*time.Second {
			t.Errorf("wait %v, want max_backoff 2s", w)
		}
	}
	if srv.count() != 3 {
		t.Errorf("%d attempts, want 3", srv.count())
	}
}

func TestInsufficientQuotaIsNotRetried(t *testing.T) {
	srv := newScripted(t, scripted{429, nil, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`})
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	_, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	if err == nil || srv.count() != 1 {
		t.Fatalf("err %v after %d requests, want one attempt", err, srv.count())
	}
}

func TestOtherClientErrorsAreNotRetried(t *testing.T) {
	srv := newScripted(t, scripted{400, nil, `{"error":{"message":"bad","type":"invalid_request_error"}}`})
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	if _, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil); err == nil || srv.count() != 1 {
		t.Fatalf("err %v after %d requests", err, srv.count())
	}
}

func TestJitteredBackoffWithoutHints(t *testing.T) {
	srv := newScripted(t, scripted{500, nil, `{"error":{"message":"boom","type":"server_error"}}`})
	d, waits := newTestDispatcher(t, srv.URL, "", "", nil)
	d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	if len(*waits) != 2 {
		t.Fatalf("waits %v", *waits)
	}
	// Attempt n waits within [base/2, base] with base = 100ms * 2^(n-1).
	for i, w := range *waits {
		base := 100 * time.Millisecond << i
		if w < base/2 || w > base {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, base/2, base)
		}
	}
}

func TestAnthropicOverloadedFallsBackAcrossProviders(t *testing.T) {
	anth := newScripted(t, scripted{529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`})
	oai := newScripted(t, scripted{200, nil, readFixture(t, "openai_plain_text.response.json")})
	d, _ := newTestDispatcher(t, oai.URL, anth.URL, "", map[string][]string{"claude-sonnet-4-5": {"gpt-4o-mini"}})
	var log attemptLog
	res, err := d.Complete(context.Background(), "claude-sonnet-4-5", simpleRequest(), log.observe)
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Backend.Name != "openai" || anth.count() != 3 || oai.count() != 1 {
		t.Errorf("served by %s after %d anthropic attempts, %d openai", res.Target.Backend.Name, anth.count(), oai.count())
	}
	if len(log.list) != 4 || log.list[3] != "openai/gpt-4o-mini:ok" {
		t.Errorf("attempts %v: every attempt must be reported", log.list)
	}
}

func TestFallbackSkipsUnconfiguredAndReportsLastError(t *testing.T) {
	anth := newScripted(t, scripted{500, nil, `{"type":"error","error":{"type":"api_error","message":"down"}}`})
	d, _ := newTestDispatcher(t, "", anth.URL, "", map[string][]string{"claude-sonnet-4-5": {"nobody-serves-this"}})
	_, err := d.Complete(context.Background(), "claude-sonnet-4-5", simpleRequest(), nil)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Status != 500 {
		t.Fatalf("want the provider's 500, got %v", err)
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	d, waits := newTestDispatcher(t, url, "", "", nil)
	_, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	var ce *ConnectionError
	if !errors.As(err, &ce) || len(*waits) != 2 {
		t.Fatalf("err %v, waits %v", err, *waits)
	}
}

func TestTimeoutIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	d.router.backends["openai"].Timeout = 50 * time.Millisecond
	d.retry.MaxAttempts = 1
	if _, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
}

// A timeout longer than an alarm step (maxAlarmStep) is reached in steps, also on a pooled
// call whose alarm an earlier, quick call left set.
func TestTimeoutLongerThanAnAlarmStep(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(3 * maxAlarmStep): // well past the timeout; bounds the test
		}
	}))
	defer srv.Close()
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	timeout := maxAlarmStep + maxAlarmStep/2
	d.router.backends["openai"].Timeout = timeout
	d.retry.MaxAttempts = 1
	if _, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil); err != nil {
		t.Fatalf("first call: %v", err)
	}
	start := time.Now()
	_, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if took := time.Since(start); took < timeout {
		t.Fatalf("timed out after %v, before its %v timeout", took, timeout)
	}
}

func TestStreamRetriesBeforeFirstByteAndReplaysAnthropic(t *testing.T) {
	anth := newScripted(t,
		scripted{529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		scripted{200, map[string]string{"Content-Type": "text/event-stream"}, readFixture(t, "anthropic_streaming_tool_call.sse")},
	)
	d, _ := newTestDispatcher(t, "", anth.URL, "", nil)
	st, err := d.Stream(context.Background(), "claude-sonnet-4-5", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var usage llm.Usage
	var finish llm.FinishReason
	args := ""
	for {
		ev, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventFinish:
			finish = ev.FinishReason
		case llm.EventToolCallDelta:
			args += ev.Text
		}
	}
	if finish != llm.FinishToolCalls || usage.OutputTokens != 79 || !strings.HasPrefix(args, "{") {
		t.Errorf("finish %v usage %+v args %q", finish, usage, args)
	}
	if anth.count() != 2 {
		t.Errorf("%d requests, want a retry after the 529", anth.count())
	}
}

func TestGeminiThoughtSignatureIsRestoredOnReplay(t *testing.T) {
	gem := newScripted(t, scripted{200, nil, readFixture(t, "gemini_tool_call_signature.response.json")})
	d, _ := newTestDispatcher(t, "", "", gem.URL, nil)
	res, err := d.Complete(context.Background(), "gemini-2.5-flash", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	call := res.Response.ToolCalls[0]
	if call.Signature == "" {
		t.Fatal("fixture call has a thoughtSignature")
	}
	// The caller replays the call without the signature, as OpenAI and Tracia clients do.
	stripped := call
	stripped.Signature = ""
	req := simpleRequest()
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: stripped}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: call.ID, Parts: []llm.Part{llm.TextPart(`{"ok":true}`)}})
	if _, err := d.Complete(context.Background(), "gemini-2.5-flash", req, nil); err != nil {
		t.Fatal(err)
	}
	gem.mu.Lock()
	sent := gem.bodies[1]
	gem.mu.Unlock()
	if !strings.Contains(sent, `"thoughtSignature":"`+call.Signature+`"`) {
		t.Errorf("replayed call lacks its signature: %s", sent)
	}
	if req.Messages[1].Parts[0].ToolCall.Signature != "" {
		t.Error("the caller's request must not be modified")
	}
}

func TestRouting(t *testing.T) {
	r, err := NewRouter([]config.Provider{
		{Name: "openai", Type: "openai", BaseURL: "https://api.openai.com/v1"},
		{Name: "groq", Type: "openai", BaseURL: "https://api.groq.com/openai/v1"},
		{Name: "mock", Type: "mock"},
	}, []config.Route{{Match: "mock-*", Provider: "mock"}, {Match: "gpt-*", Provider: "openai"}, {Match: "meta-llama/*", Provider: "groq"}})
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{
		"gpt-4o": "openai/gpt-4o", "groq/llama-3.3-70b": "groq/llama-3.3-70b", "mock-1": "mock/mock-1",
		"meta-llama/Llama-4": "groq/meta-llama/Llama-4", "openai/gpt-4o": "openai/gpt-4o",
	} {
		tg, err := r.Resolve(model)
		if err != nil || tg.Backend.Name+"/"+tg.Model != want {
			t.Errorf("Resolve(%q) = %v %v, want %s", model, tg, err, want)
		}
	}
	for _, model := range []string{"", "claude-3", "unknown/x"} {
		if _, err := r.Resolve(model); !errors.Is(err, ErrUnsupportedModel) {
			t.Errorf("Resolve(%q) err %v", model, err)
		}
	}
}

func TestStreamSilentPastItsIdleTimeoutIsATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select { // then stall, like a provider that hangs mid-stream
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	d.router.backends["openai"].StreamIdleTimeout = 300 * time.Millisecond
	st, err := d.Stream(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		_, err := st.Next()
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("want ErrTimeout, got %v", err)
		}
		return
	}
}

// A stream that keeps talking outlives the provider timeout: that bounds its first byte only.
func TestStreamAliveIsNotCutByTheTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 8; i++ {
			io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi "},"finish_reason":null}]}`+"\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	b := d.router.backends["openai"]
	b.Timeout, b.StreamIdleTimeout = 100*time.Millisecond, 5*time.Second
	st, err := d.Stream(context.Background(), "gpt-4o-mini", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	texts := 0
	for {
		ev, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stream cut after %d texts: %v", texts, err)
		}
		if ev.Type == llm.EventText {
			texts++
		}
	}
	if texts != 8 {
		t.Fatalf("got %d text events, want 8", texts)
	}
}
