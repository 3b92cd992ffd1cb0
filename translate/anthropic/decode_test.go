package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func decodeFixture(t *testing.T, name string) *llm.Response {
	t.Helper()
	resp, err := DecodeResponse(readFixture(t, name))
	if err != nil {
		t.Fatalf("DecodeResponse(%s): %v", name, err)
	}
	return resp
}

func TestDecodeResponseFixtures(t *testing.T) {
	cases := []struct {
		fixture    string
		id, model  string
		textPrefix string
		hasText    bool
		finish     llm.FinishReason
		raw        string
		usage      llm.Usage
		calls      []llm.ToolCall
	}{
		{
			fixture: "plain_text.response.json", id: "msg_019bVBTjMoXMbUV6LJyiDAmM", model: "claude-sonnet-4-5-20250929",
			textPrefix: "<summary>\n## Task Overview", hasText: true, finish: llm.FinishStop, raw: "end_turn",
			usage: llm.Usage{InputTokens: 324, OutputTokens: 486, Known: true},
		},
		{
			fixture: "structured_output.response.json", id: "msg_01Egs18hRzhru3uGon3qesbA", model: "claude-sonnet-4-5-20250929",
			textPrefix: `{"product_name": "Green Tea", "price": 5.50, "quantity": 2}`, hasText: true, finish: llm.FinishStop, raw: "end_turn",
			usage: llm.Usage{InputTokens: 249, OutputTokens: 26, Known: true},
		},
		{
			fixture: "tool_call.response.json", id: "msg_01VLZuPg94y7NULJySZhEDJY", model: "claude-3-7-sonnet-20250219",
			textPrefix: "I'll get the current weather in San Francisco for you in Fahrenheit.", hasText: true,
			finish: llm.FinishToolCalls, raw: "tool_use",
			usage: llm.Usage{InputTokens: 402, OutputTokens: 89, Known: true},
			calls: []llm.ToolCall{{ID: "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", Name: "get_weather",
				Arguments: json.RawMessage(`{"city":"San Francisco","units":"fahrenheit"}`)}},
		},
		{
			fixture: "tool_result_turn.response.json", id: "msg_014SddXAzPYwR72fa37nJ8N2", model: "claude-3-7-sonnet-20250219",
			textPrefix: "The current temperature in San Francisco is 68 degrees Fahrenheit.", hasText: true,
			finish: llm.FinishStop, raw: "end_turn",
			usage: llm.Usage{InputTokens: 514, OutputTokens: 19, Known: true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			resp := decodeFixture(t, tc.fixture)
			if resp.ID != tc.id || resp.Model != tc.model {
				t.Errorf("id, model = %q, %q", resp.ID, resp.Model)
			}
			if resp.HasText != tc.hasText || !strings.HasPrefix(resp.Text, tc.textPrefix) {
				t.Errorf("text = %q (HasText %v)", resp.Text, resp.HasText)
			}
			if resp.FinishReason != tc.finish || resp.RawFinishReason != tc.raw {
				t.Errorf("finish = %q (%q), want %q (%q)", resp.FinishReason, resp.RawFinishReason, tc.finish, tc.raw)
			}
			if resp.Usage != tc.usage {
				t.Errorf("usage = %+v, want %+v", resp.Usage, tc.usage)
			}
			if len(resp.ToolCalls) != len(tc.calls) {
				t.Fatalf("tool calls = %+v", resp.ToolCalls)
			}
			for i, want := range tc.calls {
				got := resp.ToolCalls[i]
				if got.ID != want.ID || got.Name != want.Name || string(got.Arguments) != string(want.Arguments) {
					t.Errorf("call %d = %+v (%s), want %+v (%s)", i, got, got.Arguments, want, want.Arguments)
				}
			}
		})
	}
}

func TestDecodeResponseUsage(t *testing.T) {
	cases := map[string]struct {
		usage string
		want  llm.Usage
	}{
		"cache with TTL split": {
			`{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":2000,
			  "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":50}`,
			llm.Usage{InputTokens: 2310, OutputTokens: 50, CacheReadTokens: 2000, CacheWriteTokens: 100, CacheWrite1hTokens: 200, Known: true},
		},
		"cache without split counts as 5m writes": {
			`{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,"output_tokens":5}`,
			llm.Usage{InputTokens: 310, OutputTokens: 5, CacheWriteTokens: 300, Known: true},
		},
		"thinking tokens": {
			`{"input_tokens":7,"output_tokens":500,"output_tokens_details":{"thinking_tokens":420}}`,
			llm.Usage{InputTokens: 7, OutputTokens: 500, ReasoningTokens: 420, Known: true},
		},
		"absent": {``, llm.Usage{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body := `{"id":"msg_1","type":"message","content":[],"stop_reason":"end_turn"`
			if tc.usage != "" {
				body += `,"usage":` + tc.usage
			}
			resp, err := DecodeResponse([]byte(body + "}"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Usage != tc.want {
				t.Errorf("usage = %+v, want %+v", resp.Usage, tc.want)
			}
			if resp.HasText {
				t.Error("HasText with no text block")
			}
		})
	}
}

func TestDecodeResponseStopReasons(t *testing.T) {
	for raw, want := range map[string]llm.FinishReason{
		"end_turn": llm.FinishStop, "stop_sequence": llm.FinishStop, "pause_turn": llm.FinishStop,
		"max_tokens": llm.FinishLength, "model_context_window_exceeded": llm.FinishLength,
		"tool_use": llm.FinishToolCalls, "refusal": llm.FinishContentFilter, "brand_new_reason": llm.FinishStop,
	} {
		resp, err := DecodeResponse([]byte(`{"content":[{"type":"text","text":"x"}],"stop_reason":"` + raw + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		if resp.FinishReason != want || resp.RawFinishReason != raw {
			t.Errorf("%s -> %q (%q), want %q", raw, resp.FinishReason, resp.RawFinishReason, want)
		}
	}
}

func TestDecodeResponseBlocks(t *testing.T) {
	body := `{"id":"msg_2","model":"claude","content":[
		{"type":"thinking","thinking":"let me think","signature":"sig"},
		{"type":"text","text":"Part one. "},
		{"type":"redacted_thinking","data":"xyz"},
		{"type":"text","text":"Part two."},
		{"type":"tool_use","id":"toolu_1","name":"noargs","input":{}},
		{"type":"tool_use","id":"toolu_2","name":"weird","input":{"s":"a\u0000b\"c","n":[1e2,-0.5,true,null]}}
	],"stop_reason":"tool_use"}`
	resp, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Part one. Part two." || !resp.HasText {
		t.Errorf("text = %q", resp.Text)
	}
	if len(resp.ToolCalls) != 2 || string(resp.ToolCalls[0].Arguments) != "{}" {
		t.Fatalf("calls = %+v", resp.ToolCalls)
	}
	var args map[string]any
	if err := json.Unmarshal(resp.ToolCalls[1].Arguments, &args); err != nil || args["s"] != "a\x00b\"c" {
		t.Errorf("arguments %s: %v %v", resp.ToolCalls[1].Arguments, args, err)
	}

	onlyTools, err := DecodeResponse([]byte(`{"content":[{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],"stop_reason":"tool_use"}`))
	if err != nil {
		t.Fatal(err)
	}
	if onlyTools.HasText {
		t.Error("HasText on a tool-only reply")
	}
}

func TestDecodeResponseForcedJSONTool(t *testing.T) {
	body := `{"id":"msg_3","content":[{"type":"tool_use","id":"toolu_9","name":"` + JSONToolName +
		`","input":{"product":"Green Tea","quantity":2}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`
	resp, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.HasText || resp.Text != `{"product":"Green Tea","quantity":2}` {
		t.Errorf("text = %q", resp.Text)
	}
	if len(resp.ToolCalls) != 0 {
		t.Errorf("synthetic tool reported as a call: %+v", resp.ToolCalls)
	}
	if resp.FinishReason != llm.FinishStop || resp.RawFinishReason != "tool_use" {
		t.Errorf("finish = %q (%q)", resp.FinishReason, resp.RawFinishReason)
	}
}

func TestDecodeResponseRejectsNonMessages(t *testing.T) {
	for _, body := range []string{``, `not json`, `[1,2]`, `"s"`, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`} {
		if _, err := DecodeResponse([]byte(body)); err == nil {
			t.Errorf("DecodeResponse(%q) succeeded", body)
		}
	}
}
