package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{maxBody: 4096})
	cases := []struct {
		name, path string
		body       any
		status     int
		code       string
		msgHas     []string
	}{
		{"malformed json", "/api/v1/prompts/greet/run", `{"variables":`, 400, "INVALID_REQUEST", nil},
		{"not an object", "/api/v1/prompts/greet/run", `[1,2]`, 400, "INVALID_REQUEST", nil},
		{"variables wrong type", "/api/v1/prompts/greet/run", `{"variables":{"name":3}}`, 400, "INVALID_REQUEST", []string{"variables.name"}},
		{"version wrong type", "/api/v1/prompts/greet/run", `{"version":"2"}`, 400, "INVALID_REQUEST", []string{"version"}},
		{"version fraction", "/api/v1/prompts/greet/run", `{"version":1.5}`, 400, "INVALID_REQUEST", nil},
		{"tags wrong type", "/api/v1/prompts/greet/run", `{"tags":"a"}`, 400, "INVALID_REQUEST", []string{"tags"}},
		{"bad role", "/api/v1/prompts/greet/run", `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "INVALID_REQUEST", []string{"role"}},
		{"tool without id", "/api/v1/prompts/greet/run", `{"messages":[{"role":"tool","content":"x"}]}`, 400, "INVALID_REQUEST", []string{"toolCallId"}},
		{"too large", "/api/v1/prompts/greet/run", `{"variables":{"name":"` + strings.Repeat("a", 5000) + `"}}`, 413, "INVALID_REQUEST", nil},
		{"unknown slug", "/api/v1/prompts/nope/run", `{}`, 404, "NOT_FOUND", nil},
		{"unknown version", "/api/v1/prompts/greet/run", `{"version":9}`, 404, "NOT_FOUND", nil},
		{"dotdot slug", "/api/v1/prompts/..%2Fetc/run", `{}`, 400, "INVALID_REQUEST", nil},
		{"encoded slash", "/api/v1/prompts/a%2Fb/run", `{}`, 400, "INVALID_REQUEST", nil},
		{"bad trace id", "/api/v1/prompts/greet/run", `{"variables":{"name":"a"},"traceId":"xyz"}`, 400, "INVALID_REQUEST", nil},
		{"bad parent id", "/api/v1/prompts/greet/run", `{"variables":{"name":"a"},"traceId":"tr_0123456789abcdef","parentSpanId":"sp_12"}`, 400, "INVALID_REQUEST", nil},
		{"parent without trace", "/api/v1/prompts/greet/run", `{"variables":{"name":"a"},"parentSpanId":"sp_0123456789abcdef"}`, 400, "INVALID_REQUEST", nil},
		{"missing variables", "/api/v1/prompts/greet/run", `{"version":2,"variables":{"name":"a"}}`, 400, "MISSING_VARIABLES", []string{"city", "topic"}},
		{"unsupported model", "/api/v1/prompts/greet/run", `{"version":1,"variables":{"name":"a"},"model":"llama-9"}`, 400, "UNSUPPORTED_MODEL", []string{"llama-9"}},
		{"unknown route", "/api/v2/other", ``, 404, "NOT_FOUND", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, out := h.do(http.MethodPost, c.path, c.body, nil)
			code, msg := errorCode(t, out)
			if status != c.status || code != c.code {
				t.Fatalf("got %d %s (%s), want %d %s", status, code, msg, c.status, c.code)
			}
			for _, s := range c.msgHas {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not mention %q", msg, s)
				}
			}
		})
	}
}

func TestRunMissingProviderKeyNamesVariable(t *testing.T) {
	h := newHarness(t, harnessOptions{openAIKey: "-"})
	status, _, out := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "a"}})
	code, msg := errorCode(t, out)
	if status != 400 || code != "MISSING_PROVIDER_KEY" || !strings.Contains(msg, "TEST_OPENAI_KEY") {
		t.Fatalf("got %d %s %q", status, code, msg)
	}
}

func TestRunProviderErrorAfterRetries(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{{
		Status: 500,
		Body:   []byte(`{"error":{"message":"boom with key sk-test-secret-key-123456","type":"server_error","param":null,"code":null}}`),
	}}})
	status, _, out := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "a"}})
	code, msg := errorCode(t, out)
	if status != 502 || code != "PROVIDER_ERROR" || !strings.Contains(msg, "500") || !strings.Contains(msg, "boom") {
		t.Fatalf("got %d %s %q", status, code, msg)
	}
	if strings.Contains(msg, "sk-test-secret") {
		t.Errorf("API key leaked into the error: %q", msg)
	}
	if n := len(h.upstream.requests()); n != 2 {
		t.Errorf("upstream saw %d attempts, want 2 (retry.max_attempts)", n)
	}
}

func TestRunProviderTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{
		replies:   []upstreamReply{{Status: 200, Body: []byte(`{}`), Delay: 5 * time.Second}},
		extraYAML: "",
	})
	status, _, out := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "a"}})
	if code, msg := errorCode(t, out); status != 504 || code != "TIMEOUT" {
		t.Fatalf("got %d %s %q", status, code, msg)
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{authKeys: []string{"k1", "k2"}})
	status, _, out := h.run("demo", map[string]any{})
	if code, _ := errorCode(t, out); status != 401 || code != "UNAUTHORIZED" {
		t.Fatalf("no key: %d %s", status, code)
	}
	status, _, out = h.do(http.MethodPost, "/api/v1/prompts/demo/run", `{"variables":{"name":"x"}}`, map[string]string{"Authorization": "Bearer wrong"})
	if code, _ := errorCode(t, out); status != 401 || code != "UNAUTHORIZED" {
		t.Fatalf("wrong key: %d %s", status, code)
	}
	status, _, out = h.do(http.MethodPost, "/api/v1/prompts/demo/run", `{"variables":{"name":"x"}}`, map[string]string{"Authorization": "Bearer k2"})
	if status != 200 {
		t.Fatalf("right key: %d %v", status, out)
	}
}

func TestPromptEndpoints(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	status, _, out := h.do(http.MethodGet, "/api/v1/prompts", nil, nil)
	if status != 200 {
		t.Fatalf("list: %d %v", status, out)
	}
	list := out["prompts"].([]any)
	if len(list) != 4 || list[0].(map[string]any)["slug"] != "contact" {
		t.Errorf("list %v", list)
	}
	status, _, out = h.do(http.MethodGet, "/api/v1/prompts/greet", nil, nil)
	if status != 200 || out["currentVersion"].(float64) != 2 || len(out["versions"].([]any)) != 2 {
		t.Fatalf("get: %d %v", status, out)
	}
	vars := out["variables"].([]any)
	if len(vars) != 3 {
		t.Errorf("variables %v", vars)
	}
	status, _, out = h.do(http.MethodGet, "/api/v1/prompts/nope", nil, nil)
	if code, _ := errorCode(t, out); status != 404 || code != "NOT_FOUND" {
		t.Errorf("missing: %d %s", status, code)
	}
}

// A body fasthttp refuses before any handler runs is answered in the shape of the surface
// its path names.
func TestParseErrorsAnswerInTheSurfaceShape(t *testing.T) {
	h := newHarness(t, harnessOptions{maxBody: 4096})
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`
	status, _, out := h.do(http.MethodPost, "/v1/chat/completions", big, nil)
	e, _ := out["error"].(map[string]any)
	if status != 413 || e["type"] != "invalid_request_error" {
		t.Fatalf("OpenAI surface: %d %v, want 413 in OpenAI's error shape", status, out)
	}
	status, _, out = h.do(http.MethodPost, "/api/v1/prompts/greet/run", big, nil)
	if code, _ := errorCode(t, out); status != 413 || code != "INVALID_REQUEST" {
		t.Fatalf("run API: %d %v, want 413 INVALID_REQUEST", status, out)
	}
}
