package openai

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestDecodeResponseFixtures(t *testing.T) {
	cases := []struct {
		file string
		want llm.Response
	}{
		{"plain_text.response.json", llm.Response{
			ID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", Model: "gpt-5.4",
			Text: "Hello! How can I assist you today?", HasText: true,
			FinishReason: llm.FinishStop, RawFinishReason: "stop",
			Usage: llm.Usage{InputTokens: 19, OutputTokens: 10, Known: true},
		}},
		{"structured_output.response.json", llm.Response{
			ID: "chatcmpl-9uLhvwLPvKOZoJ7hwaa666fYuxYif", Model: "gpt-4o-2024-08-06",
			Text: `{"city":"San Francisco","units":"c"}`, HasText: true,
			FinishReason: llm.FinishStop, RawFinishReason: "stop",
			Usage: llm.Usage{InputTokens: 17, OutputTokens: 10, Known: true},
		}},
		{"tool_call.response.json", llm.Response{
			ID: "chatcmpl-abc123", Model: "gpt-4o-mini",
			ToolCalls: []llm.ToolCall{{ID: "call_abc123", Name: "get_current_weather",
				Arguments: []byte(`{"location":"Boston, MA"}`)}},
			FinishReason: llm.FinishToolCalls, RawFinishReason: "tool_calls",
			Usage: llm.Usage{InputTokens: 82, OutputTokens: 17, Known: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := DecodeResponse(readFixture(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, c.want)
			}
		})
	}
}

func TestDecodeResponseUsageDetails(t *testing.T) {
	body := `{"id":"x","model":"o3","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}],
	  "usage":{"prompt_tokens":1000,"completion_tokens":300,"total_tokens":1300,
	    "prompt_tokens_details":{"cached_tokens":800,"cache_write_tokens":150,"audio_tokens":0},
	    "completion_tokens_details":{"reasoning_tokens":200}}}`
	got, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{InputTokens: 1000, OutputTokens: 300, CacheReadTokens: 800, CacheWriteTokens: 150, ReasoningTokens: 200, Known: true}
	if got.Usage != want {
		t.Fatalf("usage = %+v, want %+v", got.Usage, want)
	}
	if got.FinishReason != llm.FinishLength || got.RawFinishReason != "length" {
		t.Fatalf("finish = %q/%q", got.FinishReason, got.RawFinishReason)
	}
}

func TestDecodeResponseVariants(t *testing.T) {
	t.Run("no usage is unknown", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"id":"a","choices":[{"message":{"content":"x"},"finish_reason":"stop"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Usage.Known {
			t.Fatalf("usage reported known: %+v", got.Usage)
		}
	})
	t.Run("function_call finish and deprecated call", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"choices":[{"message":{"content":null,"function_call":{"name":"f","arguments":"{\"a\":1}"}},"finish_reason":"function_call"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.FinishReason != llm.FinishToolCalls || got.RawFinishReason != "function_call" {
			t.Fatalf("finish = %q/%q", got.FinishReason, got.RawFinishReason)
		}
		if len(got.ToolCalls) != 1 || got.ToolCalls[0].Name != "f" || string(got.ToolCalls[0].Arguments) != `{"a":1}` {
			t.Fatalf("tool calls = %+v", got.ToolCalls)
		}
		if got.HasText {
			t.Fatal("null content reported as text")
		}
	})
	t.Run("refusal becomes text", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if !got.HasText || got.Text != "I can't help with that." {
			t.Fatalf("text = %q (has %v)", got.Text, got.HasText)
		}
	})
	t.Run("empty string content is text", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"choices":[{"message":{"content":""},"finish_reason":"stop"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if !got.HasText || got.Text != "" {
			t.Fatalf("text = %q (has %v)", got.Text, got.HasText)
		}
	})
	t.Run("content parts and unknown finish", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"eos"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "ab" || !got.HasText || got.FinishReason != llm.FinishStop || got.RawFinishReason != "eos" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("empty arguments and object arguments", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"choices":[{"message":{"tool_calls":[
			{"id":"1","type":"function","function":{"name":"a","arguments":""}},
			{"id":"2","type":"function","function":{"name":"b","arguments":{"k":"\u00e9\n"}}}]},"finish_reason":null}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if string(got.ToolCalls[0].Arguments) != "{}" || string(got.ToolCalls[1].Arguments) != `{"k":"é\n"}` {
			t.Fatalf("arguments = %s / %s", got.ToolCalls[0].Arguments, got.ToolCalls[1].Arguments)
		}
		if got.FinishReason != llm.FinishToolCalls || got.RawFinishReason != "" {
			t.Fatalf("finish = %q/%q", got.FinishReason, got.RawFinishReason)
		}
	})
	t.Run("no choices keeps usage", func(t *testing.T) {
		got, err := DecodeResponse([]byte(`{"id":"z","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0}}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.HasText || got.Usage.InputTokens != 3 || !got.Usage.Known {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestDecodeResponseErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":           `<html>`,
		"array":              `[1]`,
		"invalid arguments":  `{"choices":[{"message":{"tool_calls":[{"id":"1","function":{"name":"f","arguments":"{\"a\":"}}]}}]}`,
		"string arguments":   `{"choices":[{"message":{"tool_calls":[{"id":"1","function":{"name":"f","arguments":"\"x\""}}]}}]}`,
		"number arguments":   `{"choices":[{"message":{"tool_calls":[{"id":"1","function":{"name":"f","arguments":5}}]}}]}`,
		"missing function":   `{"choices":[{"message":{"tool_calls":[{"id":"1"}]}}]}`,
		"missing message":    `{"choices":[{"finish_reason":"stop"}]}`,
		"numeric content":    `{"choices":[{"message":{"content":5}}]}`,
		"NaN in object args": `{"choices":[{"message":{"tool_calls":[{"id":"1","function":{"name":"f","arguments":{"a":NaN}}}]}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeResponse([]byte(body))
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("upstream fault reported as invalid request: %v", err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDecodeResponseErrorPayload(t *testing.T) {
	_, err := DecodeResponse([]byte(`{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`))
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *llm.UpstreamError", err)
	}
	if ue.Status != 0 || ue.Type != "server_error" || ue.Message != "The server had an error" {
		t.Fatalf("got %+v", ue)
	}
}
