package openai

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// TestEncodeRequestGolden decodes each recorded request, encodes it back, and compares the two
// as JSON. The only expected differences are the ones EncodeRequest makes on purpose: streaming
// requests ask for usage, and empty tool arguments become "{}".
func TestEncodeRequestGolden(t *testing.T) {
	for _, name := range []string{
		"plain_text.request.json",
		"streaming_text.request.json",
		"streaming_tool_call.request.json",
		"structured_output.request.json",
		"tool_call.request.json",
		"tool_result_turn.request.json",
	} {
		t.Run(name, func(t *testing.T) {
			fixture := readFixture(t, name)
			req, err := DecodeRequest(fixture)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			got, err := EncodeRequest(nil, req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			want := decodeAny(t, fixture).(map[string]any)
			if want["stream"] == true {
				want["stream_options"] = map[string]any{"include_usage": true}
			}
			gotAny := decodeAny(t, got).(map[string]any)
			normalizeArguments(t, want)
			normalizeArguments(t, gotAny)
			if !reflect.DeepEqual(gotAny, want) {
				wantJSON, _ := json.Marshal(want)
				t.Fatalf("round trip differs\n got: %s\nwant: %s", got, wantJSON)
			}
		})
	}
}

// normalizeArguments replaces each tool call's arguments string by the object it holds, so
// whitespace and "" versus "{}" do not count as differences.
func normalizeArguments(t *testing.T, body map[string]any) {
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		calls, _ := m.(map[string]any)["tool_calls"].([]any)
		for _, c := range calls {
			fn := c.(map[string]any)["function"].(map[string]any)
			args, ok := fn["arguments"].(string)
			if !ok {
				t.Fatalf("arguments is not a string: %v", fn["arguments"])
			}
			if args == "" {
				args = "{}"
			}
			fn["arguments"] = decodeAny(t, []byte(args))
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestEncodeRequestAllFields(t *testing.T) {
	req := &llm.Request{
		Model: "gpt-4o",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("Be brief.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("part one"), llm.TextPart("part \"two\"\n")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				llm.TextPart("Let me check."),
				{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city": "Paris"}`)}},
				{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "call_2", Name: "get_time"}},
			}},
			{Role: llm.RoleTool, ToolCallID: "call_1", ToolName: "get_weather", Parts: []llm.Part{llm.TextPart("sunny")}},
			{Role: llm.RoleTool, ToolCallID: "call_2", Parts: []llm.Part{llm.TextPart("noon")}},
		},
		Tools: []llm.Tool{
			{Name: "get_weather", Description: "Weather now", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: true},
			{Name: "get_time"},
		},
		ToolChoice:        llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "get_weather"},
		ResponseFormat:    &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object"}`), Strict: true, Description: "d"},
		Temperature:       ptr(0.7),
		TopP:              ptr(1.0),
		MaxTokens:         400,
		Stop:              []string{"END", "STOP"},
		ParallelToolCalls: ptr(false),
		User:              "u-1",
		Stream:            true,
	}
	got, err := EncodeRequest([]byte("prefix"), req)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:6]) != "prefix" {
		t.Fatalf("dst prefix lost: %q", got[:6])
	}
	want := `{
	 "model":"gpt-4o",
	 "messages":[
	  {"role":"system","content":"Be brief."},
	  {"role":"user","content":[{"type":"text","text":"part one"},{"type":"text","text":"part \"two\"\n"}]},
	  {"role":"assistant","content":"Let me check.","tool_calls":[
	    {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
	    {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
	  {"role":"tool","content":"sunny","tool_call_id":"call_1"},
	  {"role":"tool","content":"noon","tool_call_id":"call_2"}],
	 "tools":[
	  {"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},
	  {"type":"function","function":{"name":"get_time"}}],
	 "tool_choice":{"type":"function","function":{"name":"get_weather"}},
	 "parallel_tool_calls":false,
	 "response_format":{"type":"json_schema","json_schema":{"name":"response","description":"d","schema":{"type":"object"},"strict":true}},
	 "temperature":0.7,"top_p":1,"max_completion_tokens":400,"stop":["END","STOP"],"user":"u-1",
	 "stream":true,"stream_options":{"include_usage":true}}`
	assertJSONEqual(t, got[6:], []byte(want))
}

func TestEncodeRequestOnlyToolCallsHasNullContent(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{
		{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "c", Name: "f", Arguments: json.RawMessage(`{}`)}},
	}}}}
	got, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, got, []byte(`{"model":"m","messages":[{"role":"assistant","content":null,
		"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`))
}

func TestEncodeRequestToolChoiceWithoutToolsIsOmitted(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired}, ParallelToolCalls: ptr(true),
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}}
	got, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, got, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`))
}

func TestEncodeRequestRejectsBadInput(t *testing.T) {
	user := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}}
	tools := []llm.Tool{{Name: "f"}}
	cases := map[string]*llm.Request{
		"nil request":       nil,
		"no model":          {Messages: user},
		"no messages":       {Model: "m"},
		"bad role":          {Model: "m", Messages: []llm.Message{{Role: "wizard"}}},
		"NaN temperature":   {Model: "m", Messages: user, Temperature: ptr(math.NaN())},
		"infinite top_p":    {Model: "m", Messages: user, TopP: ptr(math.Inf(1))},
		"negative max":      {Model: "m", Messages: user, MaxTokens: -1},
		"tool without id":   {Model: "m", Messages: []llm.Message{{Role: llm.RoleTool, Parts: []llm.Part{llm.TextPart("x")}}}},
		"call on user":      {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{Name: "f"}}}}}},
		"string arguments":  {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{Name: "f", Arguments: json.RawMessage(`"{}"`)}}}}}},
		"broken arguments":  {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{Name: "f", Arguments: json.RawMessage(`{"a":`)}}}}}},
		"unnamed call":      {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall}}}}},
		"unknown part":      {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: "image"}}}}},
		"unnamed tool":      {Model: "m", Messages: user, Tools: []llm.Tool{{}}},
		"array parameters":  {Model: "m", Messages: user, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`[1]`)}}},
		"choice no name":    {Model: "m", Messages: user, Tools: tools, ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceFunction}},
		"unknown choice":    {Model: "m", Messages: user, Tools: tools, ToolChoice: llm.ToolChoice{Mode: "sometimes"}},
		"unknown format":    {Model: "m", Messages: user, ResponseFormat: &llm.ResponseFormat{Type: "yaml"}},
		"broken schema":     {Model: "m", Messages: user, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{`)}},
		"NaN in parameters": {Model: "m", Messages: user, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"x":NaN}`)}}},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := EncodeRequest([]byte("keep"), req)
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if string(out) != "keep" {
				t.Fatalf("dst not restored on error: %q", out)
			}
		})
	}
}

func TestEncodeRequestJoinsTextOfNonUserMessages(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("a\"b"), llm.TextPart("\tc")}},
		{Role: llm.RoleUser},
	}}
	got, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, got, []byte(`{"model":"m","messages":[{"role":"system","content":"a\"b\tc"},{"role":"user","content":""}]}`))
}

// The canonical request survives encode -> decode for every text and tool shape the encoder
// emits.
func TestEncodeDecodeRequestRoundTrip(t *testing.T) {
	req := &llm.Request{
		Model: "m",
		Messages: []llm.Message{
			{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart("dev \u2028 \x01")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("a"), llm.TextPart("b")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "1", Name: "f", Arguments: []byte(`{"k":["v",1,true,null]}`)}}}},
			{Role: llm.RoleTool, ToolCallID: "1", ToolName: "f", Parts: []llm.Part{llm.TextPart("ok")}},
		},
		Tools:      []llm.Tool{{Name: "f", Parameters: []byte(`{"type":"object"}`)}},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired},
		MaxTokens:  10,
		Stop:       []string{"x"},
		Stream:     true,
	}
	body, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	got, includeUsage, err := DecodeRequestOptions(body)
	if err != nil {
		t.Fatal(err)
	}
	if !includeUsage {
		t.Fatal("streaming request did not ask for usage")
	}
	gotBody, err := EncodeRequest(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotBody) != string(body) {
		t.Fatalf("second encoding differs\n got %s\nwant %s", gotBody, body)
	}
}
