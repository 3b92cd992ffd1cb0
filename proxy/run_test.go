package proxy

import (
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	spanIDWire  = regexp.MustCompile(`^sp_[0-9a-f]{16}$`)
	traceIDWire = regexp.MustCompile(`^tr_[0-9a-f]{16}$`)
)

func decodeBody(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("upstream body is not JSON: %v: %s", err, raw)
	}
	return m
}

func TestRunRendersTemplateAndCallsOpenAI(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	status, hdr, out := h.run("greet", map[string]any{
		"version":   2,
		"variables": map[string]string{"name": "Alice", "topic": "{{city}}", "city": "Oslo", "unused": "x"},
		"tags":      []string{"onboarding"},
		"userId":    "user_1",
		"sessionId": "sess_1",
	})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, out)
	}
	// What the provider received.
	reqs := h.upstream.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(reqs))
	}
	if reqs[0].Path != "/chat/completions" {
		t.Errorf("upstream path %q", reqs[0].Path)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer sk-test-secret-key-123456" {
		t.Errorf("upstream Authorization %q", got)
	}
	sent := decodeBody(t, reqs[0].Body)
	if sent["model"] != "gpt-4o-mini" {
		t.Errorf("upstream model %v", sent["model"])
	}
	if sent["temperature"] != 0.5 {
		t.Errorf("upstream temperature %v", sent["temperature"])
	}
	msgs := sent["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("upstream messages %v", msgs)
	}
	if got := msgs[0].(map[string]any)["content"]; got != "You greet people from Oslo." {
		t.Errorf("system message %q", got)
	}
	// Values are inserted literally: "{{city}}" inside a value is not expanded again.
	if got := msgs[1].(map[string]any)["content"]; got != "Say hi to Alice about {{city}} and Alice." {
		t.Errorf("user message %q", got)
	}

	// What the client got (plain_text.response.json).
	if out["text"] == nil || !strings.Contains(out["text"].(string), "") {
		t.Errorf("text %v", out["text"])
	}
	if !spanIDWire.MatchString(out["spanId"].(string)) || !traceIDWire.MatchString(out["traceId"].(string)) {
		t.Errorf("ids %v %v", out["spanId"], out["traceId"])
	}
	if out["promptVersion"].(float64) != 2 {
		t.Errorf("promptVersion %v", out["promptVersion"])
	}
	if out["finishReason"] != "stop" {
		t.Errorf("finishReason %v", out["finishReason"])
	}
	usage := out["usage"].(map[string]any)
	wantUsage := upstreamUsage(t, fixture(t, "openai/plain_text.response.json"))
	if usage["inputTokens"].(float64) != wantUsage[0] || usage["outputTokens"].(float64) != wantUsage[1] ||
		usage["totalTokens"].(float64) != wantUsage[0]+wantUsage[1] {
		t.Errorf("usage %v, want %v", usage, wantUsage)
	}
	if out["cost"].(float64) <= 0 {
		t.Errorf("cost %v: gpt-4o-mini is priced", out["cost"])
	}
	if out["toolCalls"] != nil || out["structuredOutput"] != nil {
		t.Errorf("toolCalls %v structuredOutput %v", out["toolCalls"], out["structuredOutput"])
	}
	conv := out["messages"].([]any)
	if len(conv) != 3 || conv[2].(map[string]any)["role"] != "assistant" || conv[2].(map[string]any)["content"] != out["text"] {
		t.Errorf("messages %v", conv)
	}
	if _, ok := out["latencyMs"].(float64); !ok {
		t.Errorf("latencyMs %v", out["latencyMs"])
	}
	if tp := hdr.Get("traceparent"); !strings.Contains(tp, strings.TrimPrefix(out["spanId"].(string), "sp_")) {
		t.Errorf("traceparent %q does not name span %v", tp, out["spanId"])
	}
}

// upstreamUsage reads prompt and completion tokens from a recorded OpenAI reply.
func upstreamUsage(t *testing.T, raw []byte) [2]float64 {
	u := decodeBody(t, raw)["usage"].(map[string]any)
	return [2]float64{u["prompt_tokens"].(float64), u["completion_tokens"].(float64)}
}

func TestRunMultiTurnToolCalling(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{
		okReply(t, "openai/tool_call.response.json"),
		okReply(t, "openai/plain_text.response.json"),
	}})
	status, _, first := h.run("weather", map[string]any{"variables": map[string]string{"question": "Weather in Boston?"}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, first)
	}
	sent := decodeBody(t, h.upstream.requests()[0].Body)
	tools := sent["tools"].([]any)
	fn := tools[0].(map[string]any)["function"].(map[string]any)
	if fn["name"] != "get_current_weather" || fn["parameters"].(map[string]any)["type"] != "object" {
		t.Errorf("tools sent %v", tools)
	}
	if first["finishReason"] != "tool_calls" || first["text"] != nil {
		t.Fatalf("first run: finishReason %v text %v", first["finishReason"], first["text"])
	}
	calls := first["toolCalls"].([]any)
	call := calls[0].(map[string]any)
	if call["id"] != "call_abc123" || call["name"] != "get_current_weather" {
		t.Fatalf("toolCalls %v", calls)
	}
	if args, ok := call["arguments"].(map[string]any); !ok || args["location"] != "Boston, MA" {
		t.Fatalf("arguments must be an object: %v", call["arguments"])
	}

	// Continue as the SDK does: previous messages plus a tool result, linked to the first run.
	msgs := append(first["messages"].([]any), map[string]any{
		"role": "tool", "toolCallId": "call_abc123", "toolName": "get_current_weather", "content": `{"temp":22}`,
	})
	status, _, second := h.run("weather", map[string]any{
		"messages": msgs, "traceId": first["traceId"], "parentSpanId": first["spanId"],
	})
	if status != http.StatusOK {
		t.Fatalf("second run: status %d: %v", status, second)
	}
	if second["traceId"] != first["traceId"] {
		t.Errorf("second run trace %v, want %v", second["traceId"], first["traceId"])
	}
	turn := decodeBody(t, h.upstream.requests()[1].Body)["messages"].([]any)
	if len(turn) != 3 {
		t.Fatalf("provider got %d messages, want user, assistant, tool: %v", len(turn), turn)
	}
	asst := turn[1].(map[string]any)
	tc := asst["tool_calls"].([]any)[0].(map[string]any)
	if asst["role"] != "assistant" || tc["id"] != "call_abc123" {
		t.Errorf("assistant turn %v", asst)
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(tc["function"].(map[string]any)["arguments"].(string)), &args); err != nil || args["location"] != "Boston, MA" {
		t.Errorf("replayed arguments %v (%v)", tc["function"], err)
	}
	tool := turn[2].(map[string]any)
	if tool["role"] != "tool" || tool["tool_call_id"] != "call_abc123" || tool["content"] != `{"temp":22}` {
		t.Errorf("tool turn %v", tool)
	}
	if second["finishReason"] != "stop" || second["text"] == nil {
		t.Errorf("second run %v", second)
	}
}

func TestRunStructuredOutput(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/structured_output.response.json")}})
	status, _, out := h.run("contact", map[string]any{"variables": map[string]string{"text": "x"}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, out)
	}
	rf := decodeBody(t, h.upstream.requests()[0].Body)["response_format"].(map[string]any)
	if rf["type"] != "json_schema" || rf["json_schema"].(map[string]any)["name"] != "contact" {
		t.Errorf("response_format sent %v", rf)
	}
	so, ok := out["structuredOutput"].(map[string]any)
	if !ok || so["city"] != "San Francisco" {
		t.Errorf("structuredOutput %v", out["structuredOutput"])
	}
}

func TestRunMockProviderPricedByOverride(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	status, _, out := h.run("demo", map[string]any{"variables": map[string]string{"name": "Bob"}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, out)
	}
	if out["text"] != "Mock reply to: Hello Bob" {
		t.Errorf("text %v", out["text"])
	}
	u := out["usage"].(map[string]any)
	want := u["inputTokens"].(float64)*0.000001 + u["outputTokens"].(float64)*0.000002
	if math.Abs(out["cost"].(float64)-want) > 1e-15 || want == 0 {
		t.Errorf("cost %v, want %v", out["cost"], want)
	}
	if len(h.upstream.requests()) != 0 {
		t.Error("the mock provider must not touch the network")
	}
}
