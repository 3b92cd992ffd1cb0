package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sdkCall sends one request the way the Tracia SDKs do (bearer key, JSON content type) and
// checks its reply against the SDK's shape: want for a success, the error body otherwise.
func (h *harness) sdkCall(method, path, body, key string, want *wireShape) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracia-sdk-python/0.2.2")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		want = shapeErrorBody
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.t.Errorf("%s %s: content type %q", method, path, ct)
	}
	checkContract(h.t, want, raw)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func wantStatus(t *testing.T, what string, status int, out map[string]any, want int, code string) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d: %v", what, status, want, out)
	}
	if code != "" {
		if got, msg := errorCode(t, out); got != code {
			t.Fatalf("%s: code %s (%s), want %s", what, got, msg, code)
		}
	}
}

const sdkKey = "sk-tracia-test-key"

// The whole prompt lifecycle through a real server, every reply checked against the SDK's
// shapes: create, conflict, get, list, run, update (new version, old one still runnable),
// rename, delete.
func TestPromptLifecycleMatchesTheSDKContract(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOptions{promptDir: dir, writablePrompts: true, authKeys: []string{sdkKey}})

	status, out := h.sdkCall(http.MethodGet, "/api/v1/prompts", "", sdkKey, shapePromptList)
	wantStatus(t, "empty list", status, out, 200, "")

	create := `{"name":"Welcome Email","description":"warm","model":"mock-1","temperature":0.5,
		"content":[{"id":"m-sys","role":"system","content":"Be warm."},{"id":"m-user","role":"user","content":"Welcome {{name}}."}]}`
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts", create, sdkKey, shapePrompt)
	wantStatus(t, "create", status, out, http.StatusCreated, "")
	if out["slug"] != "welcome-email" || out["currentVersion"] != float64(1) || out["description"] != "warm" {
		t.Fatalf("created %v", out)
	}
	v1 := out["versions"].([]any)[0].(map[string]any)
	// The mock provider is shown as openai: the SDK accepts no "mock".
	if v1["provider"] != "openai" || v1["temperature"] != 0.5 || v1["messages"].([]any)[0].(map[string]any)["id"] != "m-sys" {
		t.Fatalf("version 1 = %v", v1)
	}
	if vars := out["variables"].([]any); len(vars) != 1 || vars[0] != "name" {
		t.Fatalf("variables %v", vars)
	}
	createdAt := out["createdAt"]

	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts", create, sdkKey, shapePrompt)
	wantStatus(t, "create again", status, out, http.StatusConflict, "CONFLICT")

	// Providers follow the routes: claude-* to anthropic, gemini-* to google.
	for model, provider := range map[string]string{"claude-sonnet-4-5": "anthropic", "gemini-2.5-flash": "google", "gpt-4o-mini": "openai"} {
		status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts",
			`{"name":"p `+model+`","model":"`+model+`","content":[{"id":"a","role":"user","content":"x"}]}`, sdkKey, shapePrompt)
		wantStatus(t, "create "+model, status, out, http.StatusCreated, "")
		if got := out["versions"].([]any)[0].(map[string]any)["provider"]; got != provider {
			t.Errorf("%s: provider %v, want %s", model, got, provider)
		}
	}

	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/welcome-email", "", sdkKey, shapePrompt)
	wantStatus(t, "get", status, out, 200, "")
	if out["createdAt"] != createdAt {
		t.Errorf("createdAt changed: %v then %v", createdAt, out["createdAt"])
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts", "", sdkKey, shapePromptList)
	wantStatus(t, "list", status, out, 200, "")
	if n := len(out["prompts"].([]any)); n != 4 {
		t.Fatalf("%d prompts listed", n)
	}

	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/welcome-email/run", `{"variables":{"name":"Ada"}}`, sdkKey, shapeRunResult)
	wantStatus(t, "run v1", status, out, 200, "")
	if out["promptVersion"] != float64(1) {
		t.Fatalf("run = %v", out)
	}

	update := `{"content":[{"id":"n1","role":"user","content":"Hello {{name}} from {{city}}."}],"maxOutputTokens":50}`
	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/welcome-email", update, sdkKey, shapePrompt)
	wantStatus(t, "update content", status, out, 200, "")
	if out["currentVersion"] != float64(2) || len(out["versions"].([]any)) != 2 {
		t.Fatalf("after update %v", out)
	}
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/welcome-email/run", `{"variables":{"name":"Ada","city":"Paris"}}`, sdkKey, shapeRunResult)
	wantStatus(t, "run v2", status, out, 200, "")
	if out["promptVersion"] != float64(2) || !strings.Contains(jsonOf(t, out["messages"]), "Hello Ada from Paris.") {
		t.Fatalf("run after update = %v", out)
	}
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/welcome-email/run", `{"version":1,"variables":{"name":"Ada"}}`, sdkKey, shapeRunResult)
	wantStatus(t, "run pinned v1", status, out, 200, "")
	if out["promptVersion"] != float64(1) {
		t.Fatalf("pinned run = %v", out)
	}
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/welcome-email/run", `{"variables":{"name":"Ada"}}`, sdkKey, shapeRunResult)
	wantStatus(t, "run v2 without city", status, out, 400, "MISSING_VARIABLES")

	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/welcome-email", `{"name":"Welcome","description":null}`, sdkKey, shapePrompt)
	wantStatus(t, "rename", status, out, 200, "")
	if out["name"] != "Welcome" || out["currentVersion"] != float64(2) || out["description"] != "warm" {
		t.Fatalf("after rename %v", out)
	}

	// A new slug renames the prompt; renaming onto a taken slug is a conflict.
	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/p-claude-sonnet-4-5", `{"slug":"welcome-email"}`, sdkKey, shapePrompt)
	wantStatus(t, "rename onto a taken slug", status, out, http.StatusConflict, "CONFLICT")
	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/p-claude-sonnet-4-5", `{"slug":"claude-prompt"}`, sdkKey, shapePrompt)
	wantStatus(t, "rename", status, out, 200, "")
	if out["slug"] != "claude-prompt" {
		t.Fatalf("renamed %v", out)
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/p-claude-sonnet-4-5", "", sdkKey, shapePrompt)
	wantStatus(t, "old slug after rename", status, out, 404, "NOT_FOUND")

	status, out = h.sdkCall(http.MethodDelete, "/api/v1/prompts/welcome-email", "", sdkKey, shapeDeleteResult)
	wantStatus(t, "delete", status, out, 200, "")
	if out["success"] != true {
		t.Fatalf("delete = %v", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "welcome-email.yaml")); !os.IsNotExist(err) {
		t.Fatalf("file still there: %v", err)
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/welcome-email", "", sdkKey, shapePrompt)
	wantStatus(t, "get deleted", status, out, 404, "NOT_FOUND")
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/welcome-email/run", `{}`, sdkKey, shapeRunResult)
	wantStatus(t, "run deleted", status, out, 404, "NOT_FOUND")
	status, out = h.sdkCall(http.MethodDelete, "/api/v1/prompts/welcome-email", "", sdkKey, shapeDeleteResult)
	wantStatus(t, "delete again", status, out, 404, "NOT_FOUND")
	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/welcome-email", `{"name":"x"}`, sdkKey, shapePrompt)
	wantStatus(t, "update deleted", status, out, 404, "NOT_FOUND")

	// Auth applies to every call.
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/prompts", ""},
		{http.MethodGet, "/api/v1/prompts/p-gpt-4o-mini", ""},
		{http.MethodPost, "/api/v1/prompts", create},
		{http.MethodPut, "/api/v1/prompts/p-gpt-4o-mini", `{"name":"x"}`},
		{http.MethodDelete, "/api/v1/prompts/p-gpt-4o-mini", ""},
		{http.MethodPost, "/api/v1/prompts/p-gpt-4o-mini/run", `{}`},
	} {
		status, out = h.sdkCall(c.method, c.path, c.body, "wrong-key", shapePrompt)
		wantStatus(t, c.method+" "+c.path+" without the key", status, out, 401, "UNAUTHORIZED")
	}
	if _, err := os.Stat(filepath.Join(dir, "p-gpt-4o-mini.yaml")); err != nil {
		t.Fatalf("an unauthorised delete removed the file: %v", err)
	}
}

// Bad input is refused with INVALID_REQUEST and a message naming the field; nothing is written.
func TestPromptWritesRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOptions{promptDir: dir, writablePrompts: true, maxBody: 4 << 20})
	ok := `{"name":"Ok","model":"mock-1","content":[{"id":"a","role":"user","content":"x"}]}`
	status, out := h.sdkCall(http.MethodPost, "/api/v1/prompts", ok, "", shapePrompt)
	wantStatus(t, "create", status, out, http.StatusCreated, "")

	huge := strings.Repeat("y", 300<<10)
	cases := []struct {
		name, method, path, body, field string
		status                          int
	}{
		{"unknown field", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":[{"role":"user","content":"x"}],"colour":"red"}`, "colour", 400},
		{"unknown message field", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":[{"role":"user","content":"x","weight":1}]}`, "weight", 400},
		{"dotdot slug", "POST", "/api/v1/prompts", `{"name":"a","slug":"..","model":"m","content":[{"role":"user","content":"x"}]}`, "slug", 400},
		{"slash slug", "POST", "/api/v1/prompts", `{"name":"a","slug":"a/b","model":"m","content":[{"role":"user","content":"x"}]}`, "slug", 400},
		{"tool role", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":[{"role":"tool","content":"x"}]}`, "content[0].role", 400},
		{"empty content", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":[{"role":"user","content":""}]}`, "content[0].content", 400},
		{"no messages", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":[]}`, "content", 400},
		{"name missing", "POST", "/api/v1/prompts", `{"model":"m","content":[{"role":"user","content":"x"}]}`, "name", 400},
		{"name a number", "POST", "/api/v1/prompts", `{"name":7,"model":"m","content":[{"role":"user","content":"x"}]}`, "name", 400},
		{"content a string", "POST", "/api/v1/prompts", `{"name":"a","model":"m","content":"hi"}`, "content", 400},
		{"float tokens", "PUT", "/api/v1/prompts/ok", `{"maxOutputTokens":2.5}`, "maxOutputTokens", 400},
		{"provider enum", "PUT", "/api/v1/prompts/ok", `{"provider":"mock"}`, "provider", 400},
		{"temperature range", "PUT", "/api/v1/prompts/ok", `{"temperature":9}`, "temperature", 400},
		{"message too long", "PUT", "/api/v1/prompts/ok", `{"content":[{"role":"user","content":"` + huge + `"}]}`, "content[0].content", 400},
		{"rename to a bad slug", "PUT", "/api/v1/prompts/ok", `{"slug":"../other"}`, "slug", 400},
		{"not an object", "PUT", "/api/v1/prompts/ok", `[1]`, "request body", 400},
		{"malformed", "PUT", "/api/v1/prompts/ok", `{"name":`, "request body", 400},
		{"trailing data", "PUT", "/api/v1/prompts/ok", `{"name":"a"} {}`, "request body", 400},
		{"empty body", "POST", "/api/v1/prompts", ``, "request body", 400},
		{"dotdot path", "PUT", "/api/v1/prompts/a..b", `{"name":"a"}`, "slug", 400},
		{"encoded slash path", "DELETE", "/api/v1/prompts/a%2Fb", ``, "slug", 400},
		{"oversized body", "POST", "/api/v1/prompts", `{"name":"a","description":"` + strings.Repeat("z", 2<<20) + `"}`, "request body too large", 413},
	}
	for _, c := range cases {
		status, out := h.sdkCall(c.method, c.path, c.body, "", shapePrompt)
		wantStatus(t, c.name, status, out, c.status, "INVALID_REQUEST")
		if _, msg := errorCode(t, out); !strings.Contains(msg, c.field) {
			t.Errorf("%s: message %q does not name %q", c.name, msg, c.field)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != ".tracegate.lock,ok.yaml" {
		t.Fatalf("directory after bad writes: %s", got)
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/ok", "", "", shapePrompt)
	if wantStatus(t, "get", status, out, 200, ""); out["currentVersion"] != float64(1) {
		t.Fatalf("a refused update changed the prompt: %v", out)
	}
}

// Without a writable source, writes answer 405 saying how to enable them; reads still work.
func TestPromptWritesWithoutAWritableSource(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/prompts", `{"name":"a","model":"m","content":[{"role":"user","content":"x"}]}`},
		{http.MethodPut, "/api/v1/prompts/greet", `{"name":"x"}`},
		{http.MethodDelete, "/api/v1/prompts/greet", ""},
	} {
		status, out := h.sdkCall(c.method, c.path, c.body, "", shapePrompt)
		wantStatus(t, c.method, status, out, http.StatusMethodNotAllowed, "INVALID_REQUEST")
		if _, msg := errorCode(t, out); !strings.Contains(msg, "writable: true") {
			t.Errorf("%s: message %q does not say how to enable writes", c.method, msg)
		}
	}
	status, out := h.sdkCall(http.MethodPatch, "/api/v1/prompts/greet", `{}`, "", shapePrompt)
	wantStatus(t, "PATCH", status, out, http.StatusMethodNotAllowed, "INVALID_REQUEST")
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/greet", "", "", shapePrompt)
	wantStatus(t, "get", status, out, 200, "")
}

// The read endpoints and the run endpoint on the shared test prompts, successes and errors,
// all in the SDK's shapes.
func TestReadAndRunRepliesMatchTheSDKContract(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	status, out := h.sdkCall(http.MethodGet, "/api/v1/prompts", "", "", shapePromptList)
	wantStatus(t, "list", status, out, 200, "")
	for _, it := range out["prompts"].([]any) {
		slug := it.(map[string]any)["slug"].(string)
		status, got := h.sdkCall(http.MethodGet, "/api/v1/prompts/"+slug, "", "", shapePrompt)
		wantStatus(t, "get "+slug, status, got, 200, "")
	}
	runs := []struct {
		slug, body string
		status     int
		code       string
	}{
		{"demo", `{"variables":{"name":"Ada"}}`, 200, ""},
		{"greet", `{"version":1,"variables":{"name":"Ada"}}`, 200, ""},
		{"greet", `{"variables":{"name":"Ada"}}`, 400, "MISSING_VARIABLES"},
		{"nope", `{}`, 404, "NOT_FOUND"},
		{"greet", `{"version":9}`, 404, "NOT_FOUND"},
		{"demo", `{"variables":{"name":"Ada"},"model":"unrouted-model"}`, 400, "UNSUPPORTED_MODEL"},
		{"demo", `{"variables":`, 400, "INVALID_REQUEST"},
		{"demo", `{"version":"one"}`, 400, "INVALID_REQUEST"},
	}
	for _, r := range runs {
		status, out := h.sdkCall(http.MethodPost, "/api/v1/prompts/"+r.slug+"/run", r.body, "", shapeRunResult)
		wantStatus(t, r.slug+" "+r.body, status, out, r.status, r.code)
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts/demo/run", "", "", shapeRunResult)
	wantStatus(t, "GET run", status, out, http.StatusMethodNotAllowed, "INVALID_REQUEST")
}

// A hand-written prompt file (no dates, no ids, no provider) is served the same way after a
// restart: dates from its modification time, ids derived.
func TestServedPromptIsStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/prompts/greet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "greet.yaml"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var bodies [2][]byte
	for i := range bodies {
		h := newHarness(t, harnessOptions{promptDir: dir})
		resp, err := http.Get(h.base + "/api/v1/prompts/greet")
		if err != nil {
			t.Fatal(err)
		}
		bodies[i], _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		checkContract(t, shapePrompt, bodies[i])
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("served differently after a restart:\n%s\n%s", bodies[0], bodies[1])
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The Node SDK's create sends no model and may send no message ids: the prompt is stored,
// served with a null flat model, runs when the run names a model, and an update gives it one.
func TestNodeStyleCreateWithoutModel(t *testing.T) {
	h := newHarness(t, harnessOptions{promptDir: t.TempDir(), writablePrompts: true})
	status, out := h.sdkCall(http.MethodPost, "/api/v1/prompts",
		`{"name":"No model","content":[{"role":"user","content":"Hi {{who}}"}]}`, "", shapePrompt)
	wantStatus(t, "create", status, out, http.StatusCreated, "")
	if out["model"] != nil || out["content"].([]any)[0].(map[string]any)["id"] == "" {
		t.Fatalf("created %v", out)
	}
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/no-model/run", `{"variables":{"who":"Ada"}}`, "", shapeRunResult)
	wantStatus(t, "run without a model", status, out, 400, "UNSUPPORTED_MODEL")
	status, out = h.sdkCall(http.MethodPost, "/api/v1/prompts/no-model/run", `{"variables":{"who":"Ada"},"model":"mock-1"}`, "", shapeRunResult)
	wantStatus(t, "run with a model", status, out, 200, "")
	status, out = h.sdkCall(http.MethodPut, "/api/v1/prompts/no-model", `{"model":"mock-1"}`, "", shapePrompt)
	wantStatus(t, "give it a model", status, out, 200, "")
	if out["model"] != "mock-1" || out["currentVersion"] != float64(2) {
		t.Fatalf("after update %v", out)
	}
	status, out = h.sdkCall(http.MethodGet, "/api/v1/prompts", "", "", shapePromptList)
	wantStatus(t, "list", status, out, 200, "")
}
