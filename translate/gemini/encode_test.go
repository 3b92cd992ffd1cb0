package gemini

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

var divideTool = llm.Tool{
	Name:        "customDivide",
	Description: "Custom divide function",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"numerator":{"type":"number"},"denominator":{"type":"number"}}}`),
}

func userMsg(text string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart(text)}}
}

func systemMsg(text string) llm.Message {
	return llm.Message{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart(text)}}
}

func toolMsg(callID, name, content string) llm.Message {
	return llm.Message{Role: llm.RoleTool, ToolCallID: callID, ToolName: name, Parts: []llm.Part{llm.TextPart(content)}}
}

// responseSchemaOf pulls generationConfig.responseJsonSchema out of a request fixture.
func responseSchemaOf(t *testing.T, name string) json.RawMessage {
	t.Helper()
	var req struct {
		GenerationConfig struct {
			ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		} `json:"generationConfig"`
	}
	if err := json.Unmarshal(readFixture(t, name), &req); err != nil {
		t.Fatal(err)
	}
	return req.GenerationConfig.ResponseJSONSchema
}

// goldenRequests maps each *.request.json fixture to the canonical request that implies it.
func goldenRequests(t *testing.T) map[string]*llm.Request {
	// The recorded model turn is what DecodeResponse made of the recorded tool_call reply.
	toolCallReply, err := DecodeResponse(readFixture(t, "tool_call.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	callTurn := toolCallReply.AssistantMessage()
	toolResultTurn := &llm.Request{
		Model: "gemini-2.0-flash",
		Messages: []llm.Message{
			userMsg("Divide 10 by 2 using the customDivide function"),
			callTurn,
			// No ToolName: it must be recovered from the call by id.
			toolMsg(toolCallReply.ToolCalls[0].ID, "", `{"output": 42}`),
		},
		Tools:      []llm.Tool{divideTool},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceAuto},
	}
	streamingToolResultTurn := *toolResultTurn
	streamingToolResultTurn.Stream = true

	return map[string]*llm.Request{
		"error_404_stream": {Model: "custom-gemini-2.0-flash", Stream: true,
			Messages: []llm.Message{userMsg("why is the sky blue?")}},
		"plain_text": {Model: "gemini-2.5-flash",
			Messages: []llm.Message{systemMsg("I say high you say low"), userMsg("high")}},
		"streaming_text": {Model: "gemini-2.5-flash", Stream: true,
			Messages: []llm.Message{systemMsg("I say high you say low, and then tell me why is the sky blue."), userMsg("high")}},
		"thinking_max_tokens": {Model: "gemini-2.5-flash", MaxTokens: 200,
			Messages: []llm.Message{userMsg("why is the sky blue?")}},
		"tool_call": {Model: "gemini-2.0-flash",
			Messages:   []llm.Message{userMsg("Divide 10 by 2 using the customDivide function")},
			Tools:      []llm.Tool{divideTool},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceAuto}},
		"streaming_tool_call": {Model: "gemini-2.0-flash", Stream: true,
			Messages: []llm.Message{userMsg("what is the result of 100/2")},
			Tools:    []llm.Tool{divideTool}},
		"tool_call_forced_thought_signature": {Model: "gemini-2.5-flash",
			Messages: []llm.Message{userMsg("put word: hello and word: world into a string")},
			Tools: []llm.Tool{{
				Name:        "concatStringFunction",
				Description: "this is a concat string function",
				Parameters: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
					"properties":{"firstString":{"type":"string"},"secondString":{"type":"string"}},
					"required":["firstString","secondString"],"additionalProperties":false}`),
			}},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "concatStringFunction"}},
		"tool_result_turn":           toolResultTurn,
		"streaming_tool_result_turn": &streamingToolResultTurn,
		"structured_output": {Model: "gemini-2.5-flash",
			Messages:       []llm.Message{userMsg("populate the following object")},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "out", Schema: responseSchemaOf(t, "structured_output.request.json")}},
		"structured_output_implicit_cache": {Model: "gemini-2.5-flash",
			Messages:       []llm.Message{userMsg("populate the following object")},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: responseSchemaOf(t, "structured_output_implicit_cache.request.json")}},
	}
}

// modelledSubset reduces a recorded request to the fields EncodeRequest models: it drops
// systemInstruction.role (optional), generationConfig.candidateCount and thinkingConfig (no
// canonical field), "$schema" in function parameters (stripped on purpose), and rewrites
// Google-Schema "parameters" (upper-case types) as the parametersJsonSchema we send instead.
func modelledSubset(t *testing.T, raw []byte) any {
	v := parseJSON(t, raw).(map[string]any)
	if si, ok := v["systemInstruction"].(map[string]any); ok {
		delete(si, "role")
	}
	if gc, ok := v["generationConfig"].(map[string]any); ok {
		delete(gc, "candidateCount")
		delete(gc, "thinkingConfig")
	}
	tools, _ := v["tools"].([]any)
	for _, tool := range tools {
		for _, decl := range tool.(map[string]any)["functionDeclarations"].([]any) {
			d := decl.(map[string]any)
			if p, ok := d["parameters"]; ok {
				delete(d, "parameters")
				d["parametersJsonSchema"] = lowerTypes(p)
			}
			if p, ok := d["parametersJsonSchema"].(map[string]any); ok {
				delete(p, "$schema")
			}
		}
	}
	return v
}

func lowerTypes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "type" {
				x[k] = strings.ToLower(s)
			} else {
				x[k] = lowerTypes(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = lowerTypes(x[i])
		}
	}
	return v
}

func TestEncodeRequestGolden(t *testing.T) {
	requests := goldenRequests(t)
	for _, name := range fixtureNames(t, ".request.json") {
		t.Run(name, func(t *testing.T) {
			req, ok := requests[name]
			if !ok {
				t.Fatalf("no canonical request for fixture %s", name)
			}
			got, err := EncodeRequest(nil, req)
			if err != nil {
				t.Fatal(err)
			}
			want := modelledSubset(t, readFixture(t, name+".request.json"))
			if g := parseJSON(t, got); !reflect.DeepEqual(g, want) {
				t.Errorf("body differs\n got: %s\nwant: %s", mustJSON(t, g), mustJSON(t, want))
			}
		})
	}
}

func TestEncodeRequestReplaysThoughtSignature(t *testing.T) {
	reply, err := DecodeResponse(readFixture(t, "tool_call_forced_thought_signature.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	req := &llm.Request{Messages: []llm.Message{
		userMsg("put word: hello and word: world into a string"),
		reply.AssistantMessage(),
		toolMsg(reply.ToolCalls[0].ID, "", "hello world"),
	}}
	body, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	// The model turn must carry the part exactly as Gemini sent it (no minted id).
	var recorded struct {
		Candidates []struct {
			Content json.RawMessage `json:"content"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal(readFixture(t, "tool_call_forced_thought_signature.response.json"), &recorded); err != nil {
		t.Fatal(err)
	}
	want := `{"contents":[
		{"role":"user","parts":[{"text":"put word: hello and word: world into a string"}]},
		` + string(recorded.Candidates[0].Content) + `,
		{"role":"user","parts":[{"functionResponse":{"name":"concatStringFunction","response":{"output":"hello world"}}}]}
	],"generationConfig":{}}`
	assertJSONEqual(t, body, []byte(want))
	if !strings.Contains(string(body), `"thoughtSignature":"CpUCAdHtim9p`) {
		t.Errorf("thoughtSignature not replayed: %s", body)
	}
}

// TestEncodeRequestParallelToolResults: an assistant turn with two calls and two tool
// messages answering them become one model turn and ONE user turn, as in
// tool_result_turn.request.json, with names recovered by call id and minted ids not sent.
func TestEncodeRequestParallelToolResults(t *testing.T) {
	req := &llm.Request{
		Messages: []llm.Message{
			userMsg("Divide 10 by 2 using the customDivide function"),
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_gm_abc_0", Name: "customDivide", Arguments: json.RawMessage(`{"denominator":2,"numerator":10}`)}},
				{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_gm_abc_1", Name: "customMultiply", Arguments: json.RawMessage(`{"a":3,"b":4}`)}},
			}},
			toolMsg("call_gm_abc_0", "", `{"output": 42}`),
			toolMsg("call_gm_abc_1", "", "12"),
		},
		Tools:      []llm.Tool{divideTool},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceAuto},
	}
	body, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	want := modelledSubset(t, readFixture(t, "tool_result_turn.request.json")).(map[string]any)
	contents := want["contents"].([]any)
	if len(contents) != 3 {
		t.Fatalf("fixture has %d contents", len(contents))
	}
	modelParts := contents[1].(map[string]any)
	modelParts["parts"] = append(modelParts["parts"].([]any), map[string]any{
		"functionCall": map[string]any{"name": "customMultiply", "args": map[string]any{"a": 3.0, "b": 4.0}}})
	userParts := contents[2].(map[string]any)
	userParts["parts"] = append(userParts["parts"].([]any), map[string]any{
		"functionResponse": map[string]any{"name": "customMultiply", "response": map[string]any{"output": "12"}}})

	if got := parseJSON(t, body); !reflect.DeepEqual(got, want) {
		t.Errorf("body differs\n got: %s\nwant: %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func TestEncodeRequestCallIDs(t *testing.T) {
	call := func(id string) llm.Message {
		return llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: id, Name: "f", Arguments: json.RawMessage(`{}`)}}}}
	}
	for _, tc := range []struct {
		id   string
		echo bool
	}{
		{"fc-8d2f1c", true},                   // Gemini-issued: must be echoed on call and response
		{"call_gm_xyz_0", false},              // minted here
		{"call_abc123", false},                // OpenAI's
		{"toolu_01A09q90qw90lq917835", false}, // Anthropic's
	} {
		body, err := EncodeRequest(nil, &llm.Request{Messages: []llm.Message{userMsg("hi"), call(tc.id), toolMsg(tc.id, "", "ok")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(body), `"id":"`+tc.id+`"`); (got == 2) != tc.echo || (got != 0 && got != 2) {
			t.Errorf("id %q: sent %d times, echo=%v: %s", tc.id, got, tc.echo, body)
		}
	}
}

func TestEncodeRequestFields(t *testing.T) {
	temp, topP := 0.7, 0.95
	req := &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			systemMsg("be brief"),
			{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart("and "), llm.TextPart("kind")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart(""), llm.TextPart("a\"b\\c\n\u0001é")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart("")}}, // empty: not sent
			toolMsg("x", "lookup", "[1,2]"), // not an object: wrapped
		},
		Temperature: &temp, TopP: &topP, MaxTokens: 64, Stop: []string{"END", "\n\n"},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject},
		Tools: []llm.Tool{{Name: "lookup", Parameters: json.RawMessage(
			` {"$schema":"x","type":"object","description":"\u0001 \ud83d\ude00","properties":{"$schema":{"type":"string"}}} `)}},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired},
	}
	body, err := EncodeRequest([]byte("prefix:"), req)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := strings.CutPrefix(string(body), "prefix:")
	if !ok {
		t.Fatalf("dst not appended to: %s", body)
	}
	assertJSONEqual(t, []byte(got), []byte(`{
		"contents":[
			{"role":"user","parts":[{"text":"a\"b\\c\n\u0001é"}]},
			{"role":"user","parts":[{"functionResponse":{"id":"x","name":"lookup","response":{"output":"[1,2]"}}}]}
		],
		"systemInstruction":{"parts":[{"text":"be brief"},{"text":"and kind"}]},
		"tools":[{"functionDeclarations":[{"name":"lookup","parametersJsonSchema":
			{"type":"object","description":"\u0001 😀","properties":{"$schema":{"type":"string"}}}}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
		"generationConfig":{"temperature":0.7,"topP":0.95,"maxOutputTokens":64,
			"stopSequences":["END","\n\n"],"responseMimeType":"application/json"}
	}`))
}

func TestEncodeRequestToolChoiceModes(t *testing.T) {
	for mode, want := range map[llm.ToolChoiceMode]string{
		llm.ToolChoiceAuto: `{"mode":"AUTO"}`,
		llm.ToolChoiceNone: `{"mode":"NONE"}`,
	} {
		body, err := EncodeRequest(nil, &llm.Request{Messages: []llm.Message{userMsg("hi")},
			Tools: []llm.Tool{divideTool}, ToolChoice: llm.ToolChoice{Mode: mode}})
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			ToolConfig struct {
				FunctionCallingConfig json.RawMessage `json:"functionCallingConfig"`
			} `json:"toolConfig"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		assertJSONEqual(t, v.ToolConfig.FunctionCallingConfig, []byte(want))
	}
}

func TestEncodeRequestInvalid(t *testing.T) {
	nan := math.NaN()
	call := func(args string) llm.Message {
		return llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "c1", Name: "f", Arguments: json.RawMessage(args)}}}}
	}
	cases := map[string]*llm.Request{
		"nil request":         nil,
		"no messages":         {},
		"only system":         {Messages: []llm.Message{systemMsg("x")}},
		"unknown role":        {Messages: []llm.Message{{Role: "robot", Parts: []llm.Part{llm.TextPart("x")}}}},
		"orphan tool result":  {Messages: []llm.Message{userMsg("hi"), call(`{}`), toolMsg("nope", "", "x")}},
		"args not object":     {Messages: []llm.Message{userMsg("hi"), call(`"{}"`)}},
		"args invalid":        {Messages: []llm.Message{userMsg("hi"), call(`{"a":1-2}`)}},
		"args bad utf8":       {Messages: []llm.Message{userMsg("hi"), call("{\"a\":\"\xff\"}")}},
		"call without name":   {Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall}}}}},
		"tool call from user": {Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{Name: "f"}}}}}},
		"nan temperature":     {Messages: []llm.Message{userMsg("hi")}, Temperature: &nan},
		"negative max tokens": {Messages: []llm.Message{userMsg("hi")}, MaxTokens: -1},
		"tool without name":   {Messages: []llm.Message{userMsg("hi")}, Tools: []llm.Tool{{}}},
		"tool bad schema":     {Messages: []llm.Message{userMsg("hi")}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`[1]`)}}},
		"function choice without name": {Messages: []llm.Message{userMsg("hi")}, Tools: []llm.Tool{divideTool},
			ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceFunction}},
		"unknown choice": {Messages: []llm.Message{userMsg("hi")}, Tools: []llm.Tool{divideTool},
			ToolChoice: llm.ToolChoice{Mode: "sometimes"}},
		"bad response schema": {Messages: []llm.Message{userMsg("hi")},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{`)}},
		"unknown format": {Messages: []llm.Message{userMsg("hi")}, ResponseFormat: &llm.ResponseFormat{Type: "yaml"}},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := EncodeRequest(dst, req)
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if string(out) != "keep" {
				t.Errorf("dst changed on error: %q", out)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error not lower-case: %q", msg)
			}
		})
	}
}

func TestEncodeRequestNullArgumentsAndParameters(t *testing.T) {
	req := &llm.Request{
		Messages: []llm.Message{userMsg("hi"), {Role: llm.RoleAssistant, Parts: []llm.Part{
			llm.TextPart("calling"),
			{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_gm_r_0", Name: "now"}},
		}}},
		Tools: []llm.Tool{{Name: "now", Parameters: json.RawMessage("null")}},
	}
	body, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, body, []byte(`{"contents":[
		{"role":"user","parts":[{"text":"hi"}]},
		{"role":"model","parts":[{"text":"calling"},{"functionCall":{"name":"now","args":{}}}]}],
		"tools":[{"functionDeclarations":[{"name":"now"}]}],
		"generationConfig":{}}`))
}

func TestPaths(t *testing.T) {
	for model, want := range map[string]string{
		"gemini-2.5-flash":        "/v1beta/models/gemini-2.5-flash",
		"models/gemini-2.5-flash": "/v1beta/models/gemini-2.5-flash",
		"tunedModels/my-model":    "/v1beta/tunedModels/my-model",
		"a/b c:d":                 "/v1beta/models/a%2Fb%20c%3Ad",
	} {
		if got := GeneratePath(model); got != want+":generateContent" {
			t.Errorf("GeneratePath(%q) = %q", model, got)
		}
		if got := StreamPath(model); got != want+":streamGenerateContent?alt=sse" {
			t.Errorf("StreamPath(%q) = %q", model, got)
		}
	}
}
