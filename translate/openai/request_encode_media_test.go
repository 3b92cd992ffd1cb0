package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEncodeRequestImagesAndReasoning(t *testing.T) {
	req := &llm.Request{Model: "o4-mini", Reasoning: &llm.ReasoningConfig{BudgetTokens: 10000}, Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("what is this?"),
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo="}},
			{Type: llm.PartImage, Image: &llm.Image{URL: "https://example.com/a.jpg", Detail: "low"}}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Text: "x", Signature: "s"}},
			{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_1", Name: "f", Arguments: json.RawMessage(`{}`)}}}},
		{Role: llm.RoleTool, ToolCallID: "call_1", IsError: true, Parts: []llm.Part{llm.TextPart("failed")}},
	}}
	out, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		ReasoningEffort string `json:"reasoning_effort"`
		Messages        []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if body.ReasoningEffort != "medium" {
		t.Errorf("reasoning_effort = %q", body.ReasoningEffort)
	}
	var parts []map[string]any
	if err := json.Unmarshal(body.Messages[0].Content, &parts); err != nil || len(parts) != 3 {
		t.Fatalf("user content = %s", body.Messages[0].Content)
	}
	if u := parts[1]["image_url"].(map[string]any); u["url"] != "data:image/png;base64,iVBORw0KGgo=" {
		t.Errorf("inline image = %v", u)
	}
	if u := parts[2]["image_url"].(map[string]any); u["url"] != "https://example.com/a.jpg" || u["detail"] != "low" {
		t.Errorf("url image = %v", u)
	}
	if string(body.Messages[1].Content) != "null" {
		t.Errorf("an assistant turn of reasoning and a call has no content: %s", body.Messages[1].Content)
	}

	for effort, r := range map[string]*llm.ReasoningConfig{"": {Disabled: true}, "low": {BudgetTokens: 1024}, "high": {BudgetTokens: 32000}, "minimal": {Effort: "minimal"}} {
		if got := reasoningEffort(r); got != effort {
			t.Errorf("reasoningEffort(%+v) = %q, want %q", r, got, effort)
		}
	}

	bad := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleTool, ToolCallID: "c",
		Parts: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "u"}}}}}}
	if _, err := EncodeRequest(nil, bad); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("image in a tool result: err = %v", err)
	}
}

func TestDecodeReasoningContent(t *testing.T) {
	resp, err := DecodeResponse([]byte(`{"id":"x","model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"think first","content":"42"},"finish_reason":"stop"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "42" || len(resp.Reasoning) != 1 || resp.Reasoning[0].Text != "think first" {
		t.Errorf("resp = %+v", resp)
	}
	d := NewStreamDecoder(strings.NewReader(`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"reasoning_content":"hm"},"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"))
	var reasoning, text string
	for {
		ev, err := d.Next()
		if err != nil {
			break
		}
		switch ev.Type {
		case llm.EventReasoning:
			reasoning += ev.Text
		case llm.EventText:
			text += ev.Text
		}
	}
	if reasoning != "hm" || text != "ok" {
		t.Errorf("stream reasoning %q text %q", reasoning, text)
	}
}
