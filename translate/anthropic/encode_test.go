package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// fixtureRequest holds the parts of a recorded request that are copied verbatim into the
// canonical request (long texts and schemas), so the test states only the mapping.
type fixtureRequest struct {
	Messages []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	OutputConfig struct {
		Format struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`
}

func readFixtureRequest(t *testing.T, name string) fixtureRequest {
	t.Helper()
	var f fixtureRequest
	if err := json.Unmarshal(readFixture(t, name), &f); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

// messageText is the text of the fixture's message i, whether a string or text blocks.
func (f fixtureRequest) messageText(t *testing.T, i int) string {
	t.Helper()
	var s string
	if json.Unmarshal(f.Messages[i].Content, &s) == nil {
		return s
	}
	var blocks []struct{ Text string }
	if err := json.Unmarshal(f.Messages[i].Content, &blocks); err != nil || len(blocks) == 0 {
		t.Fatalf("message %d has no text: %v", i, err)
	}
	return blocks[0].Text
}

func weatherTool(f fixtureRequest) []llm.Tool {
	return []llm.Tool{{Name: "get_weather", Description: "Get weather", Parameters: f.Tools[0].InputSchema}}
}

func userText(s string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart(s)}}
}

// TestEncodeRequestFixtures encodes, for each recorded request, the canonical request it
// implies and compares the result with the recording after normalizeRequest. Every field the
// fixtures contain is modelled by tracegate, so the whole body is compared.
func TestEncodeRequestFixtures(t *testing.T) {
	cases := []struct {
		fixture string
		build   func(f fixtureRequest) *llm.Request
	}{
		{"plain_text.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-sonnet-4-5", MaxTokens: 4000,
				Messages: []llm.Message{userText(f.messageText(t, 0)), userText(f.messageText(t, 1))}}
		}},
		{"streaming_text.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-3-opus-latest", MaxTokens: 1024, Stream: true,
				Messages: []llm.Message{userText("Say hello there!")}}
		}},
		{"tool_call.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-3-7-sonnet-latest", MaxTokens: 512, Tools: weatherTool(f),
				Messages: []llm.Message{userText("What's the weather in San Francisco? Use fahrenheit.")}}
		}},
		{"streaming_tool_call.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-3-7-sonnet-latest", MaxTokens: 512, Tools: weatherTool(f), Stream: true,
				Messages: []llm.Message{userText("Weather in SF?")}}
		}},
		{"structured_output.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-sonnet-4-5", MaxTokens: 1024,
				ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "OrderItem", Schema: f.OutputConfig.Format.Schema},
				Messages:       []llm.Message{userText("Extract: I want to order 2 Green Tea at $5.50 each")}}
		}},
		{"streaming_structured_output.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-sonnet-4-5", MaxTokens: 1024, Stream: true,
				ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: f.OutputConfig.Format.Schema},
				Messages:       []llm.Message{userText(f.messageText(t, 0))}}
		}},
		{"tool_result_turn.request.json", func(f fixtureRequest) *llm.Request {
			return &llm.Request{Model: "claude-3-7-sonnet-latest", MaxTokens: 512, Tools: weatherTool(f),
				Messages: []llm.Message{
					userText("What's the weather in San Francisco? Use fahrenheit."),
					{Role: llm.RoleAssistant, Parts: []llm.Part{
						llm.TextPart("I'll get the current weather in San Francisco for you in Fahrenheit."),
						{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", Name: "get_weather",
							Arguments: json.RawMessage(`{"city": "San Francisco", "units": "fahrenheit"}`)}},
					}},
					{Role: llm.RoleTool, ToolCallID: "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", ToolName: "get_weather",
						Parts: []llm.Part{llm.TextPart("The weather in San Francisco is 68 degrees fahrenheit.")}},
				}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			req := tc.build(readFixtureRequest(t, tc.fixture))
			got, err := EncodeRequest(nil, req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			want := normalizeRequest(decodeJSON(t, readFixture(t, tc.fixture)))
			assertSameJSON(t, normalizeRequest(decodeJSON(t, got)), want)
		})
	}
}

// The recorded 400 came from a tool_result with no tool_use before it; the encoder must
// refuse that request itself instead of spending a round trip on it.
func TestEncodeRejectsOrphanToolResultFixture(t *testing.T) {
	f := readFixtureRequest(t, "error_400_orphan_tool_result.request.json")
	req := &llm.Request{Model: "claude-haiku-4-5", MaxTokens: 1024,
		Tools: []llm.Tool{{Name: "get_weather", Parameters: f.Tools[0].InputSchema}},
		Messages: []llm.Message{
			userText("What's the weather in SF in Celsius?"),
			{Role: llm.RoleTool, ToolCallID: "toolu_01GHndag5wQmbzNihYmV2UBj",
				Parts: []llm.Part{llm.TextPart("The weather in San Francisco, CA is currently sunny with a temperature of 20°C.")}},
		}}
	out, err := EncodeRequest([]byte("prefix"), req)
	if !errors.Is(err, llm.ErrInvalidRequest) {
		t.Fatalf("err = %v, want ErrInvalidRequest", err)
	}
	if !strings.Contains(err.Error(), "toolu_01GHndag5wQmbzNihYmV2UBj") {
		t.Errorf("error %q does not name the orphan id", err)
	}
	if string(out) != "prefix" {
		t.Errorf("dst = %q after error, want it unchanged", out)
	}
}

func toolCallPart(id, name, args string) llm.Part {
	return llm.Part{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}}
}

func toolResult(id, text string) llm.Message {
	return llm.Message{Role: llm.RoleTool, ToolCallID: id, Parts: []llm.Part{llm.TextPart(text)}}
}

func encodeToMap(t *testing.T, req *llm.Request) map[string]any {
	t.Helper()
	b, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	return decodeJSON(t, b)
}

func roleSequence(body map[string]any) []string {
	var roles []string
	for _, m := range body["messages"].([]any) {
		roles = append(roles, m.(map[string]any)["role"].(string))
	}
	return roles
}

func blockTypes(msg any) []string {
	var types []string
	for _, b := range msg.(map[string]any)["content"].([]any) {
		types = append(types, b.(map[string]any)["type"].(string))
	}
	return types
}

// Two tool results answering one assistant turn, followed by user text, become one user
// message: both tool_result blocks first, then the text; the shape matches the recorded
// tool_result_turn request (user, assistant with text + tool_use, user with tool_result).
func TestEncodeToolResultsShareOneUserTurn(t *testing.T) {
	req := &llm.Request{Model: "m", Tools: []llm.Tool{{Name: "get_weather"}}, Messages: []llm.Message{
		userText("Weather in SF and NYC?"),
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			llm.TextPart("Checking both."),
			toolCallPart("toolu_a", "get_weather", `{"city":"SF"}`),
			toolCallPart("toolu_b", "get_weather", `{"city":"NYC"}`),
		}},
		toolResult("toolu_a", "68F"),
		toolResult("toolu_b", "50F"),
		userText("Answer in Celsius."),
	}}
	body := encodeToMap(t, req)
	if got := strings.Join(roleSequence(body), ","); got != "user,assistant,user" {
		t.Fatalf("roles = %s", got)
	}
	msgs := body["messages"].([]any)
	if got := strings.Join(blockTypes(msgs[1]), ","); got != "text,tool_use,tool_use" {
		t.Errorf("assistant blocks = %s", got)
	}
	if got := strings.Join(blockTypes(msgs[2]), ","); got != "tool_result,tool_result,text" {
		t.Fatalf("user blocks = %s", got)
	}
	results := msgs[2].(map[string]any)["content"].([]any)
	for i, want := range []struct{ id, content string }{{"toolu_a", "68F"}, {"toolu_b", "50F"}} {
		r := results[i].(map[string]any)
		if r["tool_use_id"] != want.id || r["content"] != want.content {
			t.Errorf("result %d = %v, want %+v", i, r, want)
		}
	}
	input := msgs[1].(map[string]any)["content"].([]any)[2].(map[string]any)["input"]
	if city := input.(map[string]any)["city"]; city != "NYC" {
		t.Errorf("second tool_use input = %v", input)
	}

	fixture := normalizeRequest(decodeJSON(t, readFixture(t, "tool_result_turn.request.json")))
	if got, want := roleSequence(body), roleSequence(fixture); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("roles %v, fixture has %v", got, want)
	}
}

func TestEncodeToolResultMustAnswerPrecedingAssistant(t *testing.T) {
	assistantCall := llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{toolCallPart("toolu_a", "f", "")}}
	cases := map[string][]llm.Message{
		"unknown id": {userText("hi"), assistantCall, toolResult("toolu_x", "r")},
		"answers an older turn": {userText("hi"), assistantCall, toolResult("toolu_a", "r"),
			{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart("ok")}}, toolResult("toolu_a", "again")},
		"first message":   {toolResult("toolu_a", "r")},
		"missing call id": {userText("hi"), assistantCall, {Role: llm.RoleTool, Parts: []llm.Part{llm.TextPart("r")}}},
	}
	for name, msgs := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := EncodeRequest(nil, &llm.Request{Model: "m", Messages: msgs})
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestEncodeSystemMergeAndEmptyText(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("Be brief.")}},
		userText("one"),
		{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart("Use metric units.")}},
		{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart(""), llm.TextPart("two")}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart("")}}, // nothing to send: dropped
		userText("three"),
		{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart("reply")}},
	}}
	body := encodeToMap(t, req)
	system := body["system"].([]any)
	if len(system) != 2 || system[0].(map[string]any)["text"] != "Be brief." || system[1].(map[string]any)["text"] != "Use metric units." {
		t.Errorf("system = %v", body["system"])
	}
	if got := strings.Join(roleSequence(body), ","); got != "user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	var texts []string
	for _, b := range body["messages"].([]any)[0].(map[string]any)["content"].([]any) {
		texts = append(texts, b.(map[string]any)["text"].(string))
	}
	if got := strings.Join(texts, "|"); got != "one|two|three" {
		t.Errorf("user texts = %s", got)
	}
	if body["max_tokens"] != float64(DefaultMaxTokens) {
		t.Errorf("max_tokens = %v, want the default", body["max_tokens"])
	}

	single := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("Only one.")}}, userText("hi")}})
	if single["system"] != "Only one." {
		t.Errorf("single system = %v, want a string", single["system"])
	}
}

func TestEncodeSamplingAndMetadata(t *testing.T) {
	body := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{userText("hi")},
		Temperature: ptr(1.7), TopP: ptr(0.9), MaxTokens: 77, Stop: []string{"END", "", "STOP"}, User: "user-42"})
	if body["temperature"] != 1.0 {
		t.Errorf("temperature = %v, want clamped to 1", body["temperature"])
	}
	if body["top_p"] != 0.9 || body["max_tokens"] != 77.0 {
		t.Errorf("top_p = %v, max_tokens = %v", body["top_p"], body["max_tokens"])
	}
	if stops := body["stop_sequences"].([]any); len(stops) != 2 || stops[0] != "END" || stops[1] != "STOP" {
		t.Errorf("stop_sequences = %v", stops)
	}
	if md := body["metadata"].(map[string]any); md["user_id"] != "user-42" {
		t.Errorf("metadata = %v", md)
	}
	if _, ok := body["stream"]; ok {
		t.Error("stream set on a non-streaming request")
	}

	low := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{userText("hi")}, Temperature: ptr(-0.5)})
	if low["temperature"] != 0.0 {
		t.Errorf("temperature = %v, want clamped to 0", low["temperature"])
	}
}

func TestEncodeToolsAndChoice(t *testing.T) {
	tools := []llm.Tool{
		{Name: "lookup", Description: "Look it up", Parameters: json.RawMessage(` {"type":"object","properties":{"q":{"type":"string"}}} `), Strict: true},
		{Name: "noargs"},
	}
	cases := []struct {
		choice   llm.ToolChoice
		parallel *bool
		want     string // tool_choice as JSON, "" for absent
	}{
		{llm.ToolChoice{}, nil, ``},
		{llm.ToolChoice{}, ptr(false), `{"type":"auto","disable_parallel_tool_use":true}`},
		{llm.ToolChoice{Mode: llm.ToolChoiceAuto}, ptr(true), `{"type":"auto"}`},
		{llm.ToolChoice{Mode: llm.ToolChoiceNone}, ptr(false), `{"type":"none"}`},
		{llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil, `{"type":"any"}`},
		{llm.ToolChoice{Mode: llm.ToolChoiceRequired}, ptr(false), `{"type":"any","disable_parallel_tool_use":true}`},
		{llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "lookup"}, nil, `{"type":"tool","name":"lookup"}`},
	}
	for _, tc := range cases {
		body := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{userText("hi")},
			Tools: tools, ToolChoice: tc.choice, ParallelToolCalls: tc.parallel})
		got, ok := body["tool_choice"]
		if tc.want == "" {
			if ok {
				t.Errorf("%+v: tool_choice = %v, want absent", tc.choice, got)
			}
			continue
		}
		var want any
		_ = json.Unmarshal([]byte(tc.want), &want)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%+v parallel=%v: tool_choice = %s, want %s", tc.choice, tc.parallel, g, w)
		}
	}

	body := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{userText("hi")}, Tools: tools})
	list := body["tools"].([]any)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	if first["strict"] != true || first["description"] != "Look it up" {
		t.Errorf("first tool = %v", first)
	}
	if _, ok := second["description"]; ok {
		t.Errorf("empty description encoded: %v", second)
	}
	if schema := second["input_schema"].(map[string]any); len(schema) != 1 || schema["type"] != "object" {
		t.Errorf("default input_schema = %v", schema)
	}
	if _, ok := second["strict"]; ok {
		t.Errorf("strict encoded when unset: %v", second)
	}
}

func TestEncodeRejectsBadToolInput(t *testing.T) {
	hi := []llm.Message{userText("hi")}
	cases := map[string]*llm.Request{
		"nil request":          nil,
		"choice names no tool": {Model: "m", Messages: hi, Tools: []llm.Tool{{Name: "a"}}, ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "b"}},
		"required, no tools":   {Model: "m", Messages: hi, ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired}},
		"unknown choice":       {Model: "m", Messages: hi, ToolChoice: llm.ToolChoice{Mode: "sometimes"}},
		"schema not object":    {Model: "m", Messages: hi, Tools: []llm.Tool{{Name: "a", Parameters: json.RawMessage(`[1]`)}}},
		"schema invalid":       {Model: "m", Messages: hi, Tools: []llm.Tool{{Name: "a", Parameters: json.RawMessage(`{"type":`)}}},
		"tool without name":    {Model: "m", Messages: hi, Tools: []llm.Tool{{}}},
		"reserved tool name":   {Model: "m", Messages: hi, Tools: []llm.Tool{{Name: JSONToolName}}},
		"format schema array":  {Model: "m", Messages: hi, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`[]`)}},
		"arguments not object": {Model: "m", Messages: []llm.Message{userText("hi"),
			{Role: llm.RoleAssistant, Parts: []llm.Part{toolCallPart("t1", "a", `"{\"x\":1}"`)}}}},
		"tool call from user": {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{toolCallPart("t1", "a", `{}`)}}}},
		"call without id":     {Model: "m", Messages: []llm.Message{userText("hi"), {Role: llm.RoleAssistant, Parts: []llm.Part{toolCallPart("", "a", `{}`)}}}},
		"unknown role":        {Model: "m", Messages: []llm.Message{{Role: "narrator", Parts: []llm.Part{llm.TextPart("x")}}}},
		"only instructions":   {Model: "m", Messages: []llm.Message{{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("x")}}}},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := EncodeRequest(nil, req); !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestEncodeToolCallArguments(t *testing.T) {
	body := encodeToMap(t, &llm.Request{Model: "m", Messages: []llm.Message{userText("hi"),
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			toolCallPart("t1", "a", ""),
			toolCallPart("t2", "b", "null"),
			toolCallPart("t3", "c", "\n {\"n\": [1, 2.5e3, \"\\u00e9\"]}\n"),
		}}}})
	blocks := body["messages"].([]any)[1].(map[string]any)["content"].([]any)
	for i, want := range []string{`{}`, `{}`, `{"n":[1,2500,"é"]}`} {
		got, _ := json.Marshal(blocks[i].(map[string]any)["input"])
		if string(got) != want {
			t.Errorf("input %d = %s, want %s", i, got, want)
		}
	}
}

func TestEncodeStructuredOutput(t *testing.T) {
	hi := []llm.Message{userText("hi")}
	body := encodeToMap(t, &llm.Request{Model: "m", Messages: hi, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}})
	format := body["output_config"].(map[string]any)["format"].(map[string]any)
	if format["type"] != "json_schema" || format["schema"].(map[string]any)["type"] != "object" {
		t.Errorf("json_object format = %v", format)
	}
	text := encodeToMap(t, &llm.Request{Model: "m", Messages: hi, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatText}})
	if _, ok := text["output_config"]; ok {
		t.Error("output_config set for a text response format")
	}
}

func TestEncodeForcedJSONTool(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
	req := &llm.Request{Model: "m", Messages: []llm.Message{userText("count")},
		Tools:          []llm.Tool{{Name: "other"}},
		ToolChoice:     llm.ToolChoice{Mode: llm.ToolChoiceNone},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: schema}}
	b, err := EncodeRequestWith(nil, req, EncodeOptions{ForceToolForJSON: true})
	if err != nil {
		t.Fatal(err)
	}
	body := decodeJSON(t, b)
	if _, ok := body["output_config"]; ok {
		t.Error("output_config set in forced-tool mode")
	}
	tools := body["tools"].([]any)
	synthetic := tools[len(tools)-1].(map[string]any)
	if synthetic["name"] != JSONToolName || synthetic["input_schema"].(map[string]any)["required"] == nil {
		t.Errorf("synthetic tool = %v", synthetic)
	}
	choice := body["tool_choice"].(map[string]any)
	if choice["type"] != "tool" || choice["name"] != JSONToolName {
		t.Errorf("tool_choice = %v", choice)
	}

	// Without a JSON response format the option changes nothing.
	plain := &llm.Request{Model: "m", Messages: []llm.Message{userText("hi")}}
	a, _ := EncodeRequest(nil, plain)
	c, _ := EncodeRequestWith(nil, plain, EncodeOptions{ForceToolForJSON: true})
	if string(a) != string(c) {
		t.Errorf("option changed a plain request:\n%s\n%s", a, c)
	}
}

func TestEncodeAppendsToDst(t *testing.T) {
	dst := []byte("xx")
	out, err := EncodeRequest(dst, &llm.Request{Model: "m", Messages: []llm.Message{userText("a\"b\\c\n\x01\xff")}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "xx{") {
		t.Fatalf("out = %q", out)
	}
	body := decodeJSON(t, out[2:])
	text := body["messages"].([]any)[0].(map[string]any)["content"].([]any)[0].(map[string]any)["text"]
	if text != "a\"b\\c\n\x01\uFFFD" {
		t.Errorf("text round trip = %q", text)
	}
}
