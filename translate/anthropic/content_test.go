package anthropic

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// Images in user turns and tool results, replayed signed thinking, and is_error.
func TestEncodeImagesReasoningAndToolErrors(t *testing.T) {
	req := &llm.Request{Model: "m", Tools: []llm.Tool{{Name: "shot"}}, Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("what is this?"),
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0K", Detail: "low"}}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Text: "look closer", Signature: "sig-1"}},
			{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Redacted: "opaque"}},
			{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Text: "unsigned, from another provider"}},
			toolCallPart("t1", "shot", `{}`)}},
		{Role: llm.RoleTool, ToolCallID: "t1", IsError: true, Parts: []llm.Part{llm.TextPart("camera failed"),
			{Type: llm.PartImage, Image: &llm.Image{URL: "https://example.com/err.png"}}}},
	}}
	body := encodeToMap(t, req)
	msgs := body["messages"].([]any)
	if got := blockTypes(msgs[0]); !reflect.DeepEqual(got, []string{"text", "image"}) {
		t.Errorf("user blocks %v", got)
	}
	img := msgs[0].(map[string]any)["content"].([]any)[1].(map[string]any)["source"].(map[string]any)
	if img["type"] != "base64" || img["media_type"] != "image/png" || img["data"] != "iVBORw0K" {
		t.Errorf("image source %v", img)
	}
	if got := blockTypes(msgs[1]); !reflect.DeepEqual(got, []string{"thinking", "redacted_thinking", "tool_use"}) {
		t.Errorf("assistant blocks %v (unsigned thinking must be left out)", got)
	}
	th := msgs[1].(map[string]any)["content"].([]any)[0].(map[string]any)
	if th["thinking"] != "look closer" || th["signature"] != "sig-1" {
		t.Errorf("thinking block %v", th)
	}
	res := msgs[2].(map[string]any)["content"].([]any)[0].(map[string]any)
	if res["is_error"] != true || len(res["content"].([]any)) != 2 {
		t.Errorf("tool result %v", res)
	}
	src := res["content"].([]any)[1].(map[string]any)["source"].(map[string]any)
	if src["type"] != "url" || src["url"] != "https://example.com/err.png" {
		t.Errorf("tool result image %v", src)
	}
}

func TestEncodeRejectsBadImages(t *testing.T) {
	for _, img := range []*llm.Image{nil, {Data: "x", MediaType: "text/plain"}, {URL: "file:///etc/passwd"}} {
		_, err := EncodeRequest(nil, &llm.Request{Model: "m", Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, Image: img}}}}})
		if err == nil || !strings.Contains(err.Error(), "image") {
			t.Errorf("%+v: %v", img, err)
		}
	}
	_, err := EncodeRequest(nil, &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}}}}}})
	if err == nil {
		t.Error("an image in an assistant turn was accepted")
	}
}

func TestEncodeThinking(t *testing.T) {
	temp, topP, topK := 0.2, 0.5, 40
	user := []llm.Message{userText("hi")}
	for _, tc := range []struct {
		name      string
		req       llm.Request
		thinking  any
		maxTokens float64
		sampling  []string // sampling keys expected in the body
	}{
		{"no reasoning", llm.Request{Temperature: &temp, TopK: &topK}, nil, DefaultMaxTokens, []string{"temperature", "top_k"}},
		{"effort, no cap", llm.Request{Reasoning: &llm.ReasoningConfig{Effort: "medium"}, Temperature: &temp, TopP: &topP, TopK: &topK},
			map[string]any{"type": "enabled", "budget_tokens": 8192.0}, 8192 + DefaultMaxTokens, nil},
		{"budget under the cap", llm.Request{Reasoning: &llm.ReasoningConfig{Effort: "high"}, MaxTokens: 5000},
			map[string]any{"type": "enabled", "budget_tokens": 4999.0}, 5000, nil},
		{"cap too small", llm.Request{Reasoning: &llm.ReasoningConfig{BudgetTokens: 2000}, MaxTokens: 900}, nil, 900, nil},
		{"disabled", llm.Request{Reasoning: &llm.ReasoningConfig{Disabled: true}}, map[string]any{"type": "disabled"}, DefaultMaxTokens, nil},
		{"summary only", llm.Request{Reasoning: &llm.ReasoningConfig{Summary: "auto"}}, nil, DefaultMaxTokens, nil},
		{"forced tool", llm.Request{Reasoning: &llm.ReasoningConfig{Effort: "low"}, Tools: []llm.Tool{{Name: "f"}},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired}}, nil, DefaultMaxTokens, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Model, req.Messages = "m", user
			body := encodeToMap(t, &req)
			if !reflect.DeepEqual(body["thinking"], tc.thinking) || body["max_tokens"] != tc.maxTokens {
				t.Errorf("thinking %v max_tokens %v", body["thinking"], body["max_tokens"])
			}
			for _, k := range []string{"temperature", "top_p", "top_k"} {
				_, has := body[k]
				want := false
				for _, s := range tc.sampling {
					want = want || s == k
				}
				if has != want {
					t.Errorf("%s present: %v, want %v", k, has, want)
				}
			}
		})
	}
}

func TestDecodeThinkingBlocks(t *testing.T) {
	resp, err := DecodeResponse([]byte(`{"id":"msg_1","model":"claude","type":"message","role":"assistant","stop_reason":"end_turn",
	"content":[{"type":"thinking","thinking":"Let me think.","signature":"EqQB"},{"type":"redacted_thinking","data":"EmwK"},{"type":"text","text":"42"}],
	"usage":{"input_tokens":10,"output_tokens":30}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Reasoning{{Text: "Let me think.", Signature: "EqQB"}, {Redacted: "EmwK"}}
	if !reflect.DeepEqual(resp.Reasoning, want) || resp.Text != "42" {
		t.Errorf("reasoning %+v text %q", resp.Reasoning, resp.Text)
	}
	// The replayed reply goes back as the same blocks.
	msg := llm.Message{Role: llm.RoleAssistant}
	for i := range resp.Reasoning {
		msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartReasoning, Reasoning: &resp.Reasoning[i]})
	}
	msg.Parts = append(msg.Parts, llm.TextPart(resp.Text))
	b, err := EncodeRequest(nil, &llm.Request{Model: "m", Messages: []llm.Message{userText("q"), msg, userText("again")}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Messages []struct {
			Content []map[string]any `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	c := body.Messages[1].Content
	if c[0]["signature"] != "EqQB" || c[1]["data"] != "EmwK" || c[2]["text"] != "42" {
		t.Errorf("replayed %v", c)
	}
}
