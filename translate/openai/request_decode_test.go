package openai

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestDecodeRequestFixtures(t *testing.T) {
	t.Run("tool_result_turn", func(t *testing.T) {
		req, err := DecodeRequest(readFixture(t, "tool_result_turn.request.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("tell me what the weather is like")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "123", Name: "getWeather", Arguments: []byte("{}")}}}},
			{Role: llm.RoleTool, ToolCallID: "123", ToolName: "getWeather", Parts: []llm.Part{llm.TextPart("it's raining")}},
		}
		if req.Model != "gpt-3.5-turbo" || !reflect.DeepEqual(req.Messages, want) {
			t.Fatalf("got %+v", req.Messages)
		}
	})
	t.Run("tool_call", func(t *testing.T) {
		req, err := DecodeRequest(readFixture(t, "tool_call.request.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(req.Tools) != 1 || req.Tools[0].Name != "get_current_weather" ||
			req.Tools[0].Description != "Get the current weather in a given location" || req.Tools[0].Strict {
			t.Fatalf("tools = %+v", req.Tools)
		}
		assertJSONEqual(t, req.Tools[0].Parameters, []byte(`{"type":"object","properties":{"location":{"type":"string",
			"description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}`))
		if req.ToolChoice != (llm.ToolChoice{Mode: llm.ToolChoiceAuto}) {
			t.Fatalf("tool choice = %+v", req.ToolChoice)
		}
	})
	t.Run("structured_output", func(t *testing.T) {
		req, err := DecodeRequest(readFixture(t, "structured_output.request.json"))
		if err != nil {
			t.Fatal(err)
		}
		f := req.ResponseFormat
		if f == nil || f.Type != llm.FormatJSONSchema || f.Name != "location" || !f.Strict {
			t.Fatalf("format = %+v", f)
		}
		if !strings.Contains(string(f.Schema), `"$schema":"http://json-schema.org/draft-07/schema#"`) {
			t.Fatalf("schema = %s", f.Schema)
		}
	})
	t.Run("streaming_text", func(t *testing.T) {
		req, includeUsage, err := DecodeRequestOptions(readFixture(t, "streaming_text.request.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !req.Stream || includeUsage {
			t.Fatalf("stream %v includeUsage %v", req.Stream, includeUsage)
		}
	})
	t.Run("plain_text developer role", func(t *testing.T) {
		req, err := DecodeRequest(readFixture(t, "plain_text.request.json"))
		if err != nil {
			t.Fatal(err)
		}
		if req.Messages[0].Role != llm.RoleDeveloper || req.Messages[0].Text() != "You are a helpful assistant." {
			t.Fatalf("messages = %+v", req.Messages)
		}
	})
}

func TestDecodeRequestOptions(t *testing.T) {
	body := `{"model":"anthropic/claude-sonnet-4","messages":[
		{"role":"system","content":[{"type":"text","text":"Be "},{"type":"text","text":"brief."}],"name":"sys"},
		{"role":"user","content":"hi"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\n \"a\": [1, 2]\n}"}}]},
		{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"done"}]}],
	  "temperature":0.2,"top_p":0.9,"max_tokens":100,"max_completion_tokens":200,"stop":"END","n":1,
	  "stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},
	  "parallel_tool_calls":false,"user":"u","seed":7,"frequency_penalty":0,"presence_penalty":0.0,
	  "logprobs":false,"logit_bias":{},"modalities":["text"],"metadata":{"k":"v"},"reasoning_effort":"low",
	  "tool_choice":{"type":"function","function":{"name":"f"}},
	  "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}],
	  "response_format":{"type":"json_object"}}`
	req, includeUsage, err := DecodeRequestOptions([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !includeUsage || !req.Stream {
		t.Fatalf("includeUsage %v stream %v", includeUsage, req.Stream)
	}
	if req.Model != "anthropic/claude-sonnet-4" || *req.Temperature != 0.2 || *req.TopP != 0.9 ||
		req.MaxTokens != 200 || !reflect.DeepEqual(req.Stop, []string{"END"}) || *req.ParallelToolCalls || req.User != "u" {
		t.Fatalf("got %+v", req)
	}
	if req.Messages[0].Text() != "Be brief." || len(req.Messages[0].Parts) != 2 {
		t.Fatalf("system = %+v", req.Messages[0])
	}
	call := req.Messages[2].Parts[0].ToolCall
	if string(call.Arguments) != `{"a":[1,2]}` {
		t.Fatalf("arguments = %s", call.Arguments)
	}
	if req.Messages[3].ToolName != "f" || req.Messages[3].Text() != "done" {
		t.Fatalf("tool message = %+v", req.Messages[3])
	}
	if req.ToolChoice != (llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "f"}) || !req.Tools[0].Strict {
		t.Fatalf("tools %+v choice %+v", req.Tools, req.ToolChoice)
	}
	if req.ResponseFormat.Type != llm.FormatJSONObject {
		t.Fatalf("format = %+v", req.ResponseFormat)
	}
}

func TestDecodeRequestSmallVariants(t *testing.T) {
	req, includeUsage, err := DecodeRequestOptions([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],
		"max_tokens":50,"stop":["a","b"],"stream":false,"stream_options":{"include_usage":true},
		"temperature":null,"n":null,"tools":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.MaxTokens != 50 || !reflect.DeepEqual(req.Stop, []string{"a", "b"}) || req.Temperature != nil {
		t.Fatalf("got %+v", req)
	}
	if includeUsage {
		t.Fatal("include_usage reported for a non-streaming request")
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	cases := map[string]struct{ body, mention string }{
		"not JSON":           {`{"model":`, "valid JSON"},
		"NaN":                {`{"model":"m",` + msgs + `,"temperature":NaN}`, "valid JSON"},
		"array body":         {`[]`, "object"},
		"no model":           {`{` + msgs + `}`, "model"},
		"no messages":        {`{"model":"m","messages":[]}`, "messages"},
		"n":                  {`{"model":"m",` + msgs + `,"n":2}`, "n=2"},
		"logprobs":           {`{"model":"m",` + msgs + `,"logprobs":true}`, "logprobs"},
		"top_logprobs":       {`{"model":"m",` + msgs + `,"top_logprobs":3}`, "top_logprobs"},
		"audio":              {`{"model":"m",` + msgs + `,"audio":{"voice":"alloy"}}`, "audio"},
		"modalities":         {`{"model":"m",` + msgs + `,"modalities":["text","audio"]}`, "modalities"},
		"frequency_penalty":  {`{"model":"m",` + msgs + `,"frequency_penalty":0.5}`, "frequency_penalty"},
		"logit_bias":         {`{"model":"m",` + msgs + `,"logit_bias":{"50256":-100}}`, "logit_bias"},
		"functions":          {`{"model":"m",` + msgs + `,"functions":[]}`, "functions"},
		"image part":         {`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, "image_url"},
		"function role":      {`{"model":"m","messages":[{"role":"function","content":"x"}]}`, "function"},
		"tool without id":    {`{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "tool_call_id"},
		"bad arguments":      {`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "arguments"},
		"custom tool":        {`{"model":"m",` + msgs + `,"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "custom"},
		"allowed_tools":      {`{"model":"m",` + msgs + `,"tool_choice":{"type":"allowed_tools"}}`, "allowed_tools"},
		"temperature string": {`{"model":"m",` + msgs + `,"temperature":"hot"}`, "temperature"},
		"fractional max":     {`{"model":"m",` + msgs + `,"max_tokens":1.5}`, "max_tokens"},
		"stream string":      {`{"model":"m",` + msgs + `,"stream":"yes"}`, "stream"},
		"stop number":        {`{"model":"m",` + msgs + `,"stop":5}`, "stop"},
		"content number":     {`{"model":"m","messages":[{"role":"user","content":5}]}`, "content"},
		"schema not object":  {`{"model":"m",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[1]}}}`, "schema"},
		"format unknown":     {`{"model":"m",` + msgs + `,"response_format":{"type":"yaml"}}`, "yaml"},
		"user tool_calls":    {`{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[]}]}`, "tool_calls"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(c.body))
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %q does not name %q", err, c.mention)
			}
		})
	}
}
