package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"go.opentelemetry.io/otel/trace"
)

// Claude Code through tracegate, for real: set TRACEGATE_CLAUDE_BIN to a claude binary
// (npm install @anthropic-ai/claude-code in a temp dir; node_modules/.bin/claude) and the
// test runs `claude -p` against tracegate, which routes to fake providers on loopback that
// answer like Anthropic and like an OpenAI-compatible server. The prompt asking for a
// command makes the fake call Bash; the final answer quotes what Bash printed, so the test
// passes only if Claude Code really ran the tool loop through tracegate.

const bashMarker = "RUN_BASH"

// fakeModelAnswer decides what the fake model says: a Bash call when asked for one and no
// tool result is in yet, the tool result quoted once it is, and a plain reply otherwise (the
// side requests: quota probes, titles, summaries).
func fakeModelAnswer(userTexts []string, toolResult string, hasResult, hasBash bool) (text string, callBash bool) {
	asked := false
	for _, u := range userTexts {
		asked = asked || strings.Contains(u, bashMarker)
	}
	switch {
	case hasResult:
		return "The command printed: " + strings.TrimSpace(toolResult), false
	case asked && hasBash:
		return "", true
	}
	return "Hello from the fake model.", false
}

type fakeBlock struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"`
}

// anthropicFakeAnswer answers Messages and count_tokens requests like Anthropic.
func anthropicFakeAnswer(w http.ResponseWriter, r *http.Request, body []byte) {
	if strings.HasPrefix(r.URL.Path, "/v1/messages/count_tokens") {
		fmt.Fprintf(w, `{"input_tokens":%d}`, len(body)/4)
		return
	}
	var req struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"type":"error","error":{"type":"invalid_request_error","message":%q}}`, err.Error())
		return
	}
	var users []string
	var result string
	hasResult := false
	for i, m := range req.Messages {
		var blocks []fakeBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			var s string
			json.Unmarshal(m.Content, &s)
			blocks = append(blocks, fakeBlock{Type: "text", Text: s})
		}
		for _, b := range blocks {
			switch {
			case b.Type == "text" && m.Role == "user":
				users = append(users, b.Text)
			case b.Type == "tool_result" && i == len(req.Messages)-1:
				hasResult, result = true, toolResultText(b.Content)
			}
		}
	}
	hasBash := false
	for _, t := range req.Tools {
		hasBash = hasBash || t.Name == "Bash"
	}
	text, callBash := fakeModelAnswer(users, result, hasResult, hasBash)
	var block, stop string
	if callBash {
		block, stop = `{"type":"tool_use","id":"toolu_01FakeBash","name":"Bash","input":{"command":"echo hello-from-bash","description":"Print a greeting"}}`, "tool_use"
	} else {
		block, stop = `{"type":"text","text":`+string(jsonw.String(nil, text))+`}`, "end_turn"
	}
	if !req.Stream {
		fmt.Fprintf(w, `{"id":"msg_01Fake","type":"message","role":"assistant","model":"claude-fake","content":[%s],"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7}}`, block, stop)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	ev := func(name, data string) { fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data) }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_01Fake","type":"message","role":"assistant","model":"claude-fake","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`)
	if callBash {
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01FakeBash","name":"Bash","input":{}}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"command\":\"echo hello-from-bash\","}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"description\":\"Print a greeting\"}"}}`)
	} else {
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		ev("ping", `{"type":"ping"}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(jsonw.String(nil, text))+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":7}}`, stop))
	ev("message_stop", `{"type":"message_stop"}`)
}

// toolResultText reads a tool_result's content: a string or text blocks.
func toolResultText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct{ Text string }
	json.Unmarshal(raw, &blocks)
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl.Text)
	}
	return b.String()
}

// openAIFakeAnswer answers Chat Completions requests like an OpenAI-compatible server.
func openAIFakeAnswer(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, err.Error())
		return
	}
	var users []string
	var result string
	hasResult := false
	for i, m := range req.Messages {
		text := toolResultText(m.Content)
		switch {
		case m.Role == "user":
			users = append(users, text)
		case m.Role == "tool" && i == len(req.Messages)-1:
			hasResult, result = true, text
		}
	}
	hasBash := false
	for _, t := range req.Tools {
		hasBash = hasBash || t.Function.Name == "Bash"
	}
	text, callBash := fakeModelAnswer(users, result, hasResult, hasBash)
	args := `{"command":"echo hello-from-bash","description":"Print a greeting"}`
	if !req.Stream {
		msg, finish := `{"role":"assistant","content":`+string(jsonw.String(nil, text))+`}`, "stop"
		if callBash {
			msg = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_FakeBash1","type":"function","function":{"name":"Bash","arguments":` + string(jsonw.String(nil, args)) + `}}]}`
			finish = "tool_calls"
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"gpt-fake","choices":[{"index":0,"message":%s,"finish_reason":%q}],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}`, msg, finish)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta, finish string) {
		fmt.Fprintf(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"gpt-fake","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, finish)
	}
	if callBash {
		chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_FakeBash1","type":"function","function":{"name":"Bash","arguments":""}}]}`, "null")
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":`+string(jsonw.String(nil, args))+`}}]}`, "null")
		chunk(`{}`, `"tool_calls"`)
	} else {
		chunk(`{"role":"assistant","content":""}`, "null")
		chunk(`{"content":`+string(jsonw.String(nil, text))+`}`, "null")
		chunk(`{}`, `"stop"`)
	}
	fmt.Fprint(w, `data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1,"model":"gpt-fake","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}`+"\n\ndata: [DONE]\n\n")
}

// geminiFakeAnswer answers generateContent and streamGenerateContent like Gemini.
func geminiFakeAnswer(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				Text             string `json:"text"`
				FunctionResponse *struct {
					Response json.RawMessage `json:"response"`
				} `json:"functionResponse"`
			} `json:"parts"`
		} `json:"contents"`
		Tools []struct {
			FunctionDeclarations []struct{ Name string } `json:"functionDeclarations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":{"code":400,"message":%q,"status":"INVALID_ARGUMENT"}}`, err.Error())
		return
	}
	var users []string
	var result string
	hasResult := false
	for i, c := range req.Contents {
		for _, p := range c.Parts {
			switch {
			case p.FunctionResponse != nil && i == len(req.Contents)-1:
				var out struct{ Output, Error string }
				json.Unmarshal(p.FunctionResponse.Response, &out)
				hasResult, result = true, out.Output+out.Error
			case c.Role == "user":
				users = append(users, p.Text)
			}
		}
	}
	hasBash := false
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			hasBash = hasBash || f.Name == "Bash"
		}
	}
	text, callBash := fakeModelAnswer(users, result, hasResult, hasBash)
	part, finish := `{"text":`+string(jsonw.String(nil, text))+`}`, "STOP"
	if callBash {
		part = `{"functionCall":{"name":"Bash","args":{"command":"echo hello-from-bash","description":"Print a greeting"}}}`
	}
	reply := `{"candidates":[{"content":{"role":"model","parts":[` + part + `]},"finishReason":"` + finish + `"}],"modelVersion":"gemini-fake","responseId":"fakeResp1",` +
		`"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":7,"totalTokenCount":27}}`
	if strings.Contains(r.URL.Path, ":streamGenerateContent") {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\r\n\r\n", reply)
		return
	}
	fmt.Fprint(w, reply)
}

func TestClaudeCodeThroughTracegate(t *testing.T) {
	bin := os.Getenv("TRACEGATE_CLAUDE_BIN")
	if bin == "" {
		t.Skip("set TRACEGATE_CLAUDE_BIN to a claude binary (npm install @anthropic-ai/claude-code) to run Claude Code through tracegate")
	}
	routes := map[string][]string{
		"anthropic": nil,
		// Every model Claude Code uses names the OpenAI-format fake: every call is translated.
		"openai": {"ANTHROPIC_MODEL=openai/gpt-4o", "ANTHROPIC_SMALL_FAST_MODEL=openai/gpt-4o-mini",
			"ANTHROPIC_DEFAULT_HAIKU_MODEL=openai/gpt-4o-mini", "ANTHROPIC_DEFAULT_SONNET_MODEL=openai/gpt-4o", "ANTHROPIC_DEFAULT_OPUS_MODEL=openai/gpt-4o"},
		"gemini": {"ANTHROPIC_MODEL=google/gemini-2.5-flash", "ANTHROPIC_SMALL_FAST_MODEL=google/gemini-2.5-flash",
			"ANTHROPIC_DEFAULT_HAIKU_MODEL=google/gemini-2.5-flash", "ANTHROPIC_DEFAULT_SONNET_MODEL=google/gemini-2.5-flash", "ANTHROPIC_DEFAULT_OPUS_MODEL=google/gemini-2.5-flash"},
	}
	for name, env := range routes {
		for _, prompt := range []struct{ text, want string }{
			{"Say hello.", "Hello from the fake model."},
			{"Please " + bashMarker + ": run echo hello-from-bash with the Bash tool and tell me what it printed.", "The command printed: hello-from-bash"},
		} {
			t.Run(name+"/"+strings.Fields(prompt.want)[1], func(t *testing.T) {
				h := newHarness(t, harnessOptions{anthropicAnswer: anthropicFakeAnswer, openAIAnswer: openAIFakeAnswer, geminiAnswer: geminiFakeAnswer})
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard, not a speed check
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "-p", prompt.text, "--allowedTools", "Bash")
				cmd.Dir = t.TempDir()
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "ANTHROPIC_BASE_URL="+h.base, "ANTHROPIC_API_KEY=sk-ant-caller-key-must-not-leak",
					"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1")
				cmd.Env = append(cmd.Env, env...)
				out, err := cmd.CombinedOutput()
				var paths []string
				for _, f := range []*fakeUpstream{h.anthropic, h.upstream, h.gemini} {
					for _, r := range f.requests() {
						paths = append(paths, r.Path)
					}
				}
				t.Logf("claude output:\n%s\nprovider requests: %v", out, paths)
				if d := os.Getenv("TRACEGATE_CLAUDE_DUMP"); d != "" {
					for i, r := range h.anthropic.requests() {
						os.WriteFile(fmt.Sprintf("%s/%s-%d.json", d, name, i), r.Body, 0o644)
					}
				}
				if err != nil {
					t.Fatalf("claude: %v", err)
				}
				if !strings.Contains(string(out), prompt.want) {
					t.Errorf("claude printed %q, want %q", out, prompt.want)
				}
				fake := map[string]*fakeUpstream{"anthropic": h.anthropic, "openai": h.upstream, "gemini": h.gemini}[name]
				if len(fake.requests()) == 0 {
					t.Errorf("the %s fake got no requests", name)
				}
				assertNoCallerKey(t, h.anthropic, h.upstream, h.gemini)
				for _, s := range h.spans.GetSpans().Snapshots() {
					if s.SpanKind() == trace.SpanKindServer && attr(s, "error.type").AsString() != "" {
						t.Errorf("run %s failed: %s", s.Name(), attr(s, "error.type").String())
					}
				}
			})
		}
	}
}
