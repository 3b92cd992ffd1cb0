package gemini

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestDecodeResponseFixtures(t *testing.T) {
	type want struct {
		id, model   string
		textPrefix  string
		hasText     bool
		finish      llm.FinishReason
		raw         string
		usage       llm.Usage
		calls       []llm.ToolCall
		isJSONReply bool
	}
	cases := map[string]want{
		"plain_text": {id: "hi77aOvyCJ-jvr0P8syDgQw", model: "gemini-2.5-flash", textPrefix: "low", hasText: true,
			finish: llm.FinishStop, raw: "STOP",
			usage: llm.Usage{InputTokens: 9, OutputTokens: 21, ReasoningTokens: 20, Known: true}},
		"structured_output": {id: "gi77aIS0Gdux1e8P96XL4QY", model: "gemini-2.5-flash", textPrefix: `{"simpleString":"Hello"`,
			hasText: true, finish: llm.FinishStop, raw: "STOP", isJSONReply: true,
			usage: llm.Usage{InputTokens: 5, OutputTokens: 177 + 331, ReasoningTokens: 331, Known: true}},
		"structured_output_implicit_cache": {id: "hS77aOmpFb66vr0P9ruBiQM", model: "gemini-2.5-flash", textPrefix: "{\n  \"simpleString\"",
			hasText: true, finish: llm.FinishStop, raw: "STOP", isJSONReply: true,
			usage: llm.Usage{InputTokens: 5, CacheReadTokens: 3, OutputTokens: 238 + 41, ReasoningTokens: 41, Known: true}},
		"thinking_max_tokens": {id: "jy77aN2dK5v_1e8PlvqtsQ8", model: "gemini-2.5-flash", textPrefix: "The sky is blue because",
			hasText: true, finish: llm.FinishLength, raw: "MAX_TOKENS",
			usage: llm.Usage{InputTokens: 7, OutputTokens: 149 + 48, ReasoningTokens: 48, Known: true}},
		"tool_call": {id: "e9SfaP31Evq0nvgPjqSm8AU", model: "gemini-2.0-flash", finish: llm.FinishToolCalls, raw: "STOP",
			usage: llm.Usage{InputTokens: 17, OutputTokens: 6, Known: true},
			calls: []llm.ToolCall{{ID: "call_gm_e9SfaP31Evq0nvgPjqSm8AU_0", Name: "customDivide",
				Arguments: json.RawMessage(`{"denominator":2,"numerator":10}`)}}},
		"tool_call_forced_thought_signature": {id: "iC77aIDWMcDDvr0PoK6JkAY", model: "gemini-2.5-flash",
			finish: llm.FinishToolCalls, raw: "STOP",
			usage: llm.Usage{InputTokens: 65, OutputTokens: 22 + 59, ReasoningTokens: 59, Known: true},
			calls: []llm.ToolCall{{ID: "call_gm_iC77aIDWMcDDvr0PoK6JkAY_0", Name: "concatStringFunction",
				Arguments: json.RawMessage(`{"firstString":"hello","secondString":"world"}`),
				Signature: "CpUCAdHtim9pjKa09PSMm2rJMx/w+Zv+17DcCbM08LMBheh0ksyO8hosyPMGt1dQOUEELcknoicPY3Zb2Jx4mB7RX7kZZ1yCz0zrQMp1aEg+w/X5bV7dfvOem4YJY5yNH7uCque1YjlrHNbiXD3iAwTPVmkcdq0uHpzxiWbQEzy4XQtDA4cy5YoeVRyoDICqA55o4QGkjY7wZZwy/S5fxj4rhKlqlVo3JFDr7oGnQkdx+OcAoPDyXRc7s3qSS0p/ySzSmPGe5OLd1QAWQecM6Z6NBwd4dGKQAmFzrOLqIxCevhawd1fstxmNCDK0hh0XMdGltq0ppd9HwwZrozdlu+7GQ3ZoEcescwTCqOJe5Z+XE7GQu9KAbQ=="}}},
		"tool_result_turn": {id: "e9SfaJfdL4yfmecP5IKC0Q8", model: "gemini-2.0-flash",
			textPrefix: "I've divided 10 by 2 using the customDivide function, and the result is 42.\n", hasText: true,
			finish: llm.FinishStop, raw: "STOP", usage: llm.Usage{InputTokens: 27, OutputTokens: 25, Known: true}},
	}
	for _, name := range fixtureNames(t, ".response.json") {
		if name == "error_404_stream" {
			continue // an error reply: TestDecodeErrorFixture
		}
		t.Run(name, func(t *testing.T) {
			w, ok := cases[name]
			if !ok {
				t.Fatalf("no expectations for fixture %s", name)
			}
			r, err := DecodeResponse(readFixture(t, name+".response.json"))
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != w.id || r.Model != w.model {
				t.Errorf("id, model = %q, %q; want %q, %q", r.ID, r.Model, w.id, w.model)
			}
			if r.HasText != w.hasText || !strings.HasPrefix(r.Text, w.textPrefix) || (!w.hasText && r.Text != "") {
				t.Errorf("text = %v %q; want %v, prefix %q", r.HasText, r.Text, w.hasText, w.textPrefix)
			}
			if w.isJSONReply && !json.Valid([]byte(r.Text)) {
				t.Errorf("structured reply is not JSON: %q", r.Text)
			}
			if r.FinishReason != w.finish || r.RawFinishReason != w.raw {
				t.Errorf("finish = %q (%q); want %q (%q)", r.FinishReason, r.RawFinishReason, w.finish, w.raw)
			}
			if r.Usage != w.usage {
				t.Errorf("usage = %+v; want %+v", r.Usage, w.usage)
			}
			if len(r.ToolCalls) != len(w.calls) {
				t.Fatalf("tool calls = %+v; want %+v", r.ToolCalls, w.calls)
			}
			for i, c := range r.ToolCalls {
				wc := w.calls[i]
				if c.ID != wc.ID || c.Name != wc.Name || c.Signature != wc.Signature {
					t.Errorf("call %d = %+v; want %+v", i, c, wc)
				}
				assertJSONEqual(t, c.Arguments, wc.Arguments)
				if !IsMintedID(c.ID) {
					t.Errorf("call id %q not recognisable as minted", c.ID)
				}
			}
		})
	}
}

func TestDecodeResponseParts(t *testing.T) {
	body := []byte(`{"responseId":"R1","modelVersion":"m","candidates":[{"content":{"role":"model","parts":[
		{"text":"thinking...","thought":true},
		{"text":"Hello, "},
		{"functionCall":{"id":"fc-1","name":"a","args":{"s":"\u0001\"x\""}}},
		{"text":"world"},
		{"functionCall":{"name":"b"}},
		{"functionCall":{"name":"c","args":null}, "thoughtSignature":"sig"}
	]},"finishReason":"STOP"}],
	"usageMetadata":{"promptTokenCount":10,"toolUsePromptTokenCount":"4","candidatesTokenCount":3}}`)
	r, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Hello, world" || !r.HasText {
		t.Errorf("text = %q", r.Text)
	}
	if r.FinishReason != llm.FinishToolCalls {
		t.Errorf("finish = %q", r.FinishReason)
	}
	want := []llm.ToolCall{
		{ID: "fc-1", Name: "a", Arguments: json.RawMessage(`{"s":"\u0001\"x\""}`)},
		{ID: "call_gm_R1_1", Name: "b", Arguments: json.RawMessage(`{}`)},
		{ID: "call_gm_R1_2", Name: "c", Arguments: json.RawMessage(`{}`), Signature: "sig"},
	}
	if len(r.ToolCalls) != len(want) {
		t.Fatalf("calls = %+v", r.ToolCalls)
	}
	for i, c := range r.ToolCalls {
		if c.ID != want[i].ID || c.Name != want[i].Name || c.Signature != want[i].Signature {
			t.Errorf("call %d = %+v, want %+v", i, c, want[i])
		}
		assertJSONEqual(t, c.Arguments, want[i].Arguments)
	}
	if u := r.Usage; u.InputTokens != 14 || u.OutputTokens != 3 || !u.Known {
		t.Errorf("usage = %+v", u)
	}
}

func TestDecodeResponseFinishReasons(t *testing.T) {
	for raw, want := range map[string]llm.FinishReason{
		"STOP": llm.FinishStop, "MAX_TOKENS": llm.FinishLength, "SAFETY": llm.FinishContentFilter,
		"RECITATION": llm.FinishContentFilter, "PROHIBITED_CONTENT": llm.FinishContentFilter,
		"SPII": llm.FinishContentFilter, "BLOCKLIST": llm.FinishContentFilter, "IMAGE_SAFETY": llm.FinishContentFilter,
		"MALFORMED_FUNCTION_CALL": llm.FinishStop, "OTHER": llm.FinishStop, "LANGUAGE": llm.FinishStop,
	} {
		r, err := DecodeResponse([]byte(`{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"` + raw + `"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.FinishReason != want || r.RawFinishReason != raw {
			t.Errorf("%s -> %q (%q), want %q", raw, r.FinishReason, r.RawFinishReason, want)
		}
		if !r.HasText || r.Usage.Known {
			t.Errorf("%s: HasText %v, Usage %+v", raw, r.HasText, r.Usage)
		}
	}
}

func TestDecodeResponseBlockedPrompt(t *testing.T) {
	r, err := DecodeResponse([]byte(`{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},
		"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.FinishReason != llm.FinishContentFilter || r.RawFinishReason != "SAFETY" || r.HasText || len(r.ToolCalls) != 0 {
		t.Errorf("got %+v", r)
	}
	if r.Usage != (llm.Usage{InputTokens: 8, Known: true}) {
		t.Errorf("usage = %+v", r.Usage)
	}
}

func TestDecodeResponseMintsDeterministicIDsWithoutResponseID(t *testing.T) {
	body := []byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g"}}]},"finishReason":"STOP"}]}`)
	a, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DecodeResponse(body)
	if a.ToolCalls[0].ID != b.ToolCalls[0].ID || a.ToolCalls[0].ID == a.ToolCalls[1].ID {
		t.Errorf("ids not deterministic and distinct: %q %q %q", a.ToolCalls[0].ID, b.ToolCalls[0].ID, a.ToolCalls[1].ID)
	}
	if !IsMintedID(a.ToolCalls[0].ID) || !strings.HasSuffix(a.ToolCalls[1].ID, "_1") {
		t.Errorf("ids = %q, %q", a.ToolCalls[0].ID, a.ToolCalls[1].ID)
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":         `<html>`,
		"not object":       `[1]`,
		"args not object":  `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]}`,
		"args bad number":  `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"n":1-2}}}]}}]}`,
		"empty":            ``,
		"truncated object": `{"candidates":[`,
	} {
		if r, err := DecodeResponse([]byte(body)); err == nil {
			t.Errorf("%s: no error, got %+v", name, r)
		}
	}

	_, err := DecodeResponse([]byte(`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`))
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Status != 503 || ue.Type != "UNAVAILABLE" || ue.Message != "The model is overloaded." {
		t.Errorf("error envelope in reply: %v", err)
	}
}
