package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// shapeKeys collects the object member paths of a JSON document ("toolConfig.tools[].toolSpec.name").
func shapeKeys(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			shapeKeys(p, val, out)
		}
	case []any:
		for _, val := range x {
			shapeKeys(prefix+"[]", val, out)
		}
	}
}

func TestEncodeUsesTheConverseMemberNames(t *testing.T) {
	snap, err := os.ReadFile("testdata/Converse.request.shape.snap")
	if err != nil {
		t.Fatal(err)
	}
	var shape any
	if err := json.Unmarshal(snap[strings.IndexByte(string(snap), '{'):], &shape); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	shapeKeys("", shape, known)

	temp, topP := 0.5, 0.9
	req := &llm.Request{
		Model: "global.anthropic.claude-sonnet-4-5-20250929-v1:0", // native structured output
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("Be brief.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("Weather?")}},
		},
		Tools:          []llm.Tool{{Name: "get_weather", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`), Strict: true}},
		ToolChoice:     llm.ToolChoice{Mode: llm.ToolChoiceAuto},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "answer", Description: "d", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}}}`)},
		Temperature:    &temp, TopP: &topP, MaxTokens: 100, Stop: []string{"END"},
	}
	out, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	keys := map[string]bool{}
	shapeKeys("", got, keys)
	var unknown []string
	for k := range keys {
		if !known[k] && !strings.HasPrefix(k, "toolConfig.tools[].toolSpec.inputSchema.json.") {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("members not in the Converse shape: %v\n%s", unknown, out)
	}
	// The structured-output schema travels as a JSON string.
	schema := got.(map[string]any)["outputConfig"].(map[string]any)["textFormat"].(map[string]any)["structure"].(map[string]any)["jsonSchema"].(map[string]any)["schema"]
	if s, ok := schema.(string); !ok || !strings.Contains(s, `"properties"`) {
		t.Errorf("schema %#v, want a JSON string", schema)
	}
}

func TestEncodeFoldsToolResultsIntoAlternatingTurns(t *testing.T) {
	req := &llm.Request{
		Tools: []llm.Tool{{Name: "f"}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("go")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart(" "), {Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "t1", Name: "f", Arguments: json.RawMessage(`{"x":1}`)}},
				{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "t2", Name: "f"}}}},
			{Role: llm.RoleTool, ToolCallID: "t1", Parts: []llm.Part{llm.TextPart(`{"ok":true}`)}},
			{Role: llm.RoleTool, ToolCallID: "t2", IsError: true, Parts: []llm.Part{llm.TextPart("boom")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("and?")}},
		},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceNone},
	}
	out, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Messages []struct {
			Role    string
			Content []map[string]json.RawMessage
		}
		ToolConfig *struct {
			ToolChoice any
		}
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var roles []string
	for _, m := range body.Messages {
		roles = append(roles, m.Role)
	}
	if !reflect.DeepEqual(roles, []string{"user", "assistant", "user"}) {
		t.Fatalf("roles %v: %s", roles, out)
	}
	results := body.Messages[2].Content
	if len(results) != 3 || string(results[0]["toolResult"]) != `{"toolUseId":"t1","content":[{"json":{"ok":true}}]}` ||
		string(results[1]["toolResult"]) != `{"toolUseId":"t2","content":[{"text":"boom"}],"status":"error"}` || string(results[2]["text"]) != `"and?"` {
		t.Errorf("user turn %s", out)
	}
	if len(body.Messages[1].Content) != 2 || string(body.Messages[1].Content[1]["toolUse"]) != `{"toolUseId":"t2","name":"f","input":{}}` {
		t.Errorf("assistant turn %s", out)
	}
	// choice none, but the history has tool blocks: tools declared, no toolChoice.
	if body.ToolConfig == nil || body.ToolConfig.ToolChoice != nil {
		t.Errorf("toolConfig %s", out)
	}
}

func TestEncodeRejectsWhatConverseCannotTake(t *testing.T) {
	for name, req := range map[string]*llm.Request{
		"image by url": {Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}}}}}},
		"tool choice":  {Tools: []llm.Tool{{Name: "f"}}, ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "g"}},
		"bad args":     {Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "1", Name: "f", Arguments: json.RawMessage(`[1]`)}}}}}},
	} {
		if _, err := EncodeRequest(nil, req); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeUsageConventions(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want llm.Usage
	}{
		"cache excluded (Anthropic style)": {`{"inputTokens":10,"outputTokens":5,"totalTokens":315,"cacheReadInputTokens":100,"cacheWriteInputTokens":200}`,
			llm.Usage{InputTokens: 310, OutputTokens: 5, CacheReadTokens: 100, CacheWriteTokens: 200, Known: true}},
		"cache included": {`{"inputTokens":310,"outputTokens":5,"totalTokens":315,"cacheReadInputTokens":100,"cacheWriteInputTokens":200}`,
			llm.Usage{InputTokens: 310, OutputTokens: 5, CacheReadTokens: 100, CacheWriteTokens: 200, Known: true}},
		"1h writes": {`{"inputTokens":1,"outputTokens":1,"totalTokens":302,"cacheWriteInputTokens":300,"cacheDetails":[{"inputTokens":100,"ttl":"1h"},{"inputTokens":200,"ttl":"5m"}]}`,
			llm.Usage{InputTokens: 301, OutputTokens: 1, CacheWriteTokens: 200, CacheWrite1hTokens: 100, Known: true}},
	} {
		resp, err := DecodeResponse([]byte(`{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"max_tokens","usage":` + tc.body + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage != tc.want || resp.FinishReason != llm.FinishLength || resp.HasText {
			t.Errorf("%s: %+v", name, resp)
		}
	}
}

func TestDecodeErrorShapes(t *testing.T) {
	snap, err := os.ReadFile("testdata/errors.shape.snap")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(string(snap), "### ")[1:] {
		lines := strings.SplitN(part, "\n", 3)
		var status int
		if _, err := fmt.Sscan(strings.TrimSpace(lines[1]), &status); err != nil {
			t.Fatal(err)
		}
		body := part[strings.IndexByte(part, '{'):]
		body = body[:strings.LastIndexByte(body, '}')+1]
		ue := DecodeError("bedrock", status, []byte(body), nil)
		name := strings.TrimSuffix(lines[0], ".error.snap")
		if ue.Type != name || ue.Status != status || ue.Message != "__Message__" {
			t.Errorf("%s: %+v", name, ue)
		}
		retry := status == 429 || status >= 500 || status == 408
		if ue.Retryable() != retry {
			t.Errorf("%s (%d): retryable %v", name, status, ue.Retryable())
		}
	}
}

func TestNativeStructuredOutputModels(t *testing.T) {
	for model, want := range map[string]bool{
		"anthropic.claude-sonnet-4-5-20250929-v1:0":   true,
		"us.anthropic.claude-haiku-4-5-20251001-v1:0": true,
		"anthropic.claude-opus-4-6-v1":                true,
		"eu.anthropic.claude-sonnet-5":                true,
		"anthropic.claude-opus-4-1-20250805-v1:0":     false,
		"anthropic.claude-sonnet-4-20250514-v1:0":     false,
		"anthropic.claude-3-5-sonnet-20241022-v2:0":   false,
		"amazon.nova-pro-v1:0":                        false,
		"meta.llama3-1-70b-instruct-v1:0":             false,
		"mistral.mistral-large-2407-v1:0":             false,
		"mistral.mistral-large-3-675b-instruct":       true,
		"qwen.qwen3-coder-next":                       true,
		"arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-5-20251101-v1:0": true,
	} {
		if got := NativeStructuredOutput(model); got != want {
			t.Errorf("%s: %v, want %v", model, got, want)
		}
	}
}

// Without native structured output the schema becomes a forced tool, whose input the
// decoders return as the reply text with finish reason stop.
func TestForcedJSONToolRoundTrip(t *testing.T) {
	req := &llm.Request{
		Model:          "amazon.nova-pro-v1:0",
		Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("Capital of France?")}}},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "city", Schema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
	}
	out, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "outputConfig") ||
		!strings.Contains(string(out), `"toolChoice":{"tool":{"name":"tracegate_json_output"}}`) ||
		!strings.Contains(string(out), `"inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}`) {
		t.Errorf("body %s", out)
	}
	resp, err := DecodeResponse([]byte(`{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"tracegate_json_output","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":3,"totalTokens":8}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != `{"city":"Paris"}` || !resp.HasText || len(resp.ToolCalls) != 0 || resp.FinishReason != llm.FinishStop {
		t.Errorf("reply %+v", resp)
	}
	var stream bytes.Buffer
	for _, ev := range [][2]string{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"tracegate_json_output"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"city\":"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`},
		{"messageStop", `{"stopReason":"tool_use"}`},
	} {
		stream.Write(frame(t, ev[1], str(":event-type", ev[0]), str(":message-type", "event")))
	}
	d := NewStreamDecoder(&stream)
	var text string
	var finish llm.FinishReason
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case llm.EventText:
			text += ev.Text
		case llm.EventToolCallStart:
			t.Errorf("the JSON tool surfaced as a tool call")
		case llm.EventFinish:
			finish = ev.FinishReason
		}
	}
	if text != `{"city":"Paris"}` || finish != llm.FinishStop {
		t.Errorf("stream text %q finish %q", text, finish)
	}
}

func TestEncodeReasoning(t *testing.T) {
	temp, topK := 0.7, 40
	for name, tc := range map[string]struct {
		req  llm.Request
		want []string
		not  []string
	}{
		"claude budget": {llm.Request{Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", MaxTokens: 2000, Temperature: &temp, TopK: &topK,
			Reasoning: &llm.ReasoningConfig{BudgetTokens: 3000}},
			[]string{`"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":3000}}`, `"maxTokens":7096`}, []string{"temperature", "top_k"}},
		"claude effort": {llm.Request{Model: "anthropic.claude-opus-4-5-20251101-v1:0", Reasoning: &llm.ReasoningConfig{Effort: "low"}},
			[]string{`"budget_tokens":2048`, `"maxTokens":4096`}, nil},
		"claude top_k": {llm.Request{Model: "anthropic.claude-3-haiku-20240307-v1:0", TopK: &topK, Temperature: &temp},
			[]string{`"additionalModelRequestFields":{"top_k":40}`, `"temperature":0.7`}, []string{"thinking"}},
		"nova 2": {llm.Request{Model: "us.amazon.nova-2-lite-v1:0", Reasoning: &llm.ReasoningConfig{Effort: "high"}},
			[]string{`"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}`}, nil},
		"disabled": {llm.Request{Model: "anthropic.claude-sonnet-4-5-20250929-v1:0", Reasoning: &llm.ReasoningConfig{Disabled: true, BudgetTokens: 5000}},
			nil, []string{"additionalModelRequestFields"}},
	} {
		tc.req.Messages = []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}}
		out, err := EncodeRequest(nil, &tc.req)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: no %s in %s", name, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(string(out), n) {
				t.Errorf("%s: %s in %s", name, n, out)
			}
		}
	}
}
