package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// The run API's multi-turn tool flow and structured output work the same on every provider
// kind: the model is overridden per run and the provider gets its own wire format.
func TestRunToolFlowOnEveryProvider(t *testing.T) {
	cases := []struct {
		model      string
		toolReply  string
		textReply  string
		checkTurn2 func(t *testing.T, body map[string]any, callID, callName string)
	}{
		{"claude-sonnet-4-5", "anthropic/tool_call.response.json", "anthropic/plain_text.response.json",
			func(t *testing.T, body map[string]any, callID, _ string) {
				msgs := body["messages"].([]any)
				asst := msgs[len(msgs)-2].(map[string]any)["content"].([]any)
				last := msgs[len(msgs)-1].(map[string]any)
				var use map[string]any
				for _, b := range asst {
					if b.(map[string]any)["type"] == "tool_use" {
						use = b.(map[string]any)
					}
				}
				res := last["content"].([]any)[0].(map[string]any)
				if use == nil || use["id"] != callID || last["role"] != "user" || res["type"] != "tool_result" || res["tool_use_id"] != callID {
					t.Errorf("anthropic tool-result turn: %v", msgs)
				}
			}},
		{"gemini-2.0-flash", "gemini/tool_call.response.json", "gemini/plain_text.response.json",
			func(t *testing.T, body map[string]any, _, callName string) {
				contents := body["contents"].([]any)
				model := contents[len(contents)-2].(map[string]any)
				user := contents[len(contents)-1].(map[string]any)
				fc := model["parts"].([]any)[0].(map[string]any)["functionCall"].(map[string]any)
				fr := user["parts"].([]any)[0].(map[string]any)["functionResponse"].(map[string]any)
				if model["role"] != "model" || fc["name"] != callName || user["role"] != "user" || fr["name"] != callName {
					t.Errorf("gemini tool-result turn: %v", contents)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			h, up := newTranslatedHarness(t, c.model, okReply(t, c.toolReply), okReply(t, c.textReply))
			status, _, first := h.run("weather", map[string]any{"model": c.model, "variables": map[string]string{"question": "Weather?"}})
			if status != http.StatusOK || first["finishReason"] != "tool_calls" {
				t.Fatalf("first run %d: %v", status, first)
			}
			call := first["toolCalls"].([]any)[0].(map[string]any)
			id, name := call["id"].(string), call["name"].(string)
			if id == "" || name == "" {
				t.Fatalf("tool call %v", call)
			}
			if _, ok := call["arguments"].(map[string]any); !ok {
				t.Fatalf("arguments must be an object: %v", call)
			}
			msgs := append(first["messages"].([]any), map[string]any{"role": "tool", "toolCallId": id, "content": "22 degrees"})
			status, _, second := h.run("weather", map[string]any{"model": c.model, "messages": msgs})
			if status != http.StatusOK || second["finishReason"] != "stop" || second["text"] == nil {
				t.Fatalf("second run %d: %v", status, second)
			}
			c.checkTurn2(t, decodeBody(t, up.requests()[1].Body), id, name)
		})
	}
}

func TestRunStructuredOutputOnEveryProvider(t *testing.T) {
	for _, c := range []struct{ model, reply string }{
		{"claude-sonnet-4-5", "anthropic/structured_output.response.json"},
		{"gemini-2.5-flash", "gemini/structured_output.response.json"},
	} {
		t.Run(c.model, func(t *testing.T) {
			h, up := newTranslatedHarness(t, c.model, okReply(t, c.reply))
			status, _, out := h.run("contact", map[string]any{"model": c.model, "variables": map[string]string{"text": "x"}})
			if status != http.StatusOK {
				t.Fatalf("%d: %v", status, out)
			}
			if _, ok := out["structuredOutput"].(map[string]any); !ok || out["finishReason"] != "stop" {
				t.Errorf("structuredOutput %v finish %v", out["structuredOutput"], out["finishReason"])
			}
			sent := decodeBody(t, up.requests()[0].Body)
			if strings.HasPrefix(c.model, "claude") {
				if sent["output_config"] == nil {
					t.Errorf("anthropic structured output not requested: %v", sent)
				}
			} else if gc := sent["generationConfig"].(map[string]any); gc["responseMimeType"] != "application/json" || gc["responseJsonSchema"] == nil {
				t.Errorf("gemini structured output not requested: %v", gc)
			}
		})
	}
}
