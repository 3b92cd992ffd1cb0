package gemini

import (
	"encoding/json"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEncodeImagesThinkingTopK(t *testing.T) {
	k := 40
	req := &llm.Request{Model: "gemini-2.5-flash", TopK: &k, Reasoning: &llm.ReasoningConfig{BudgetTokens: 2048}, Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("look"),
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "AAAA"}},
			{Type: llm.PartImage, Image: &llm.Image{URL: "gs://b/o.jpg", MediaType: "image/jpeg"}}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Text: "x"}},
			{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "toolu_1", Name: "f", Arguments: json.RawMessage(`{}`)}}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_1", IsError: true, Parts: []llm.Part{llm.TextPart("boom")}},
	}}
	out, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Contents []struct {
			Parts []map[string]any `json:"parts"`
		} `json:"contents"`
		GenerationConfig map[string]any `json:"generationConfig"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	user := body.Contents[0].Parts
	if d := user[1]["inlineData"].(map[string]any); d["mimeType"] != "image/png" || d["data"] != "AAAA" {
		t.Errorf("inlineData = %v", d)
	}
	if d := user[2]["fileData"].(map[string]any); d["fileUri"] != "gs://b/o.jpg" || d["mimeType"] != "image/jpeg" {
		t.Errorf("fileData = %v", d)
	}
	if model := body.Contents[1].Parts; len(model) != 1 || model[0]["functionCall"] == nil {
		t.Errorf("model turn = %v (reasoning parts are not sent)", model)
	}
	if resp := body.Contents[2].Parts[0]["functionResponse"].(map[string]any)["response"].(map[string]any); resp["error"] != "boom" {
		t.Errorf("error result = %v", resp)
	}
	gc := body.GenerationConfig
	tc, _ := gc["thinkingConfig"].(map[string]any)
	if gc["topK"] != 40.0 || tc["thinkingBudget"] != 2048.0 || tc["includeThoughts"] != true {
		t.Errorf("generationConfig = %v", gc)
	}
	off := *req
	off.Reasoning = &llm.ReasoningConfig{Disabled: true}
	out, _ = EncodeRequest(nil, &off)
	body.GenerationConfig = nil
	json.Unmarshal(out, &body)
	if tc := body.GenerationConfig["thinkingConfig"].(map[string]any); tc["thinkingBudget"] != 0.0 || tc["includeThoughts"] != nil {
		t.Errorf("disabled thinking = %v", tc)
	}
}

func TestDecodeThoughtParts(t *testing.T) {
	resp, err := DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"answer"}]},"finishReason":"STOP"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "answer" || len(resp.Reasoning) != 1 || resp.Reasoning[0].Text != "plan" {
		t.Errorf("resp = %+v", resp)
	}
}

func TestEncodeCountTokens(t *testing.T) {
	out, err := EncodeCountTokens(nil, &llm.Request{Model: "gemini-2.0-flash", MaxTokens: 10,
		Messages: []llm.Message{{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("s")}}, {Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		GCR map[string]any `json:"generateContentRequest"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if body.GCR["model"] != "models/gemini-2.0-flash" || body.GCR["contents"] == nil || body.GCR["systemInstruction"] == nil {
		t.Errorf("body = %s", out)
	}
	if n, err := DecodeCountTokens([]byte(`{"totalTokens":31}`)); n != 31 || err != nil {
		t.Errorf("count = %d, %v", n, err)
	}
	if _, err := DecodeCountTokens([]byte(`{}`)); err == nil {
		t.Errorf("a reply without totalTokens must fail")
	}
}
