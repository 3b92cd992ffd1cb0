package openai

import (
	"encoding/json"
	"reflect"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/tracegate/tracegate/llm"
)

func TestEncodeResponseRoundTripsFixtures(t *testing.T) {
	for _, name := range []string{"plain_text.response.json", "structured_output.response.json", "tool_call.response.json"} {
		t.Run(name, func(t *testing.T) {
			want, err := DecodeResponse(readFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			body := EncodeResponse(nil, want, 1700000000)
			got, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip differs\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestEncodeResponseShape(t *testing.T) {
	resp := &llm.Response{
		ID: "msg_01", Model: "claude-sonnet-4",
		ToolCalls:    []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}},
		FinishReason: llm.FinishToolCalls, RawFinishReason: "tool_use",
		Usage: llm.Usage{InputTokens: 120, OutputTokens: 30, CacheReadTokens: 100, CacheWriteTokens: 10, CacheWrite1hTokens: 5, ReasoningTokens: 12, Known: true},
	}
	got := EncodeResponse(nil, resp, 42)
	assertJSONEqual(t, got, []byte(`{"id":"msg_01","object":"chat.completion","created":42,"model":"claude-sonnet-4",
		"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
		  "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		  "logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,
		  "prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":15},
		  "completion_tokens_details":{"reasoning_tokens":12}}}`))

	// The official client reads it the same way.
	var cc oai.ChatCompletion
	if err := json.Unmarshal(got, &cc); err != nil {
		t.Fatal(err)
	}
	msg := cc.Choices[0].Message
	if cc.ID != "msg_01" || cc.Created != 42 || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		cc.Usage.PromptTokensDetails.CachedTokens != 100 || cc.Usage.CompletionTokensDetails.ReasoningTokens != 12 ||
		cc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("openai-go read %+v", cc)
	}
}

func TestEncodeResponseTextAndUnknownUsage(t *testing.T) {
	got := EncodeResponse([]byte("x"), &llm.Response{ID: "a", Model: "m", Text: "line\n\"q\" \u2028", HasText: true}, 1)
	assertJSONEqual(t, got[1:], []byte(`{"id":"a","object":"chat.completion","created":1,"model":"m",
		"choices":[{"index":0,"message":{"role":"assistant","content":"line\n\"q\" \u2028","refusal":null},"logprobs":null,"finish_reason":"stop"}]}`))

	// No text and no calls still gives clients a string, not null.
	got = EncodeResponse(nil, &llm.Response{}, 1)
	var cc oai.ChatCompletion
	if err := json.Unmarshal(got, &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.JSON.Content.Raw() != `""` {
		t.Fatalf("content = %s", cc.Choices[0].Message.JSON.Content.Raw())
	}
}
