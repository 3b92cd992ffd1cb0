package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// Tool calls stream back in OpenAI's shape whichever provider served them: Anthropic's
// input_json_delta fragments and Gemini's whole functionCall parts both become tool-call
// deltas the official client assembles.
func TestChatStreamingToolCallsTranslated(t *testing.T) {
	for _, c := range []struct {
		model, fixture, wantName string
	}{
		{"claude-sonnet-4-5", "anthropic/streaming_tool_call.sse", ""},
		{"gemini-2.0-flash", "gemini/streaming_tool_call.sse", "customDivide"},
	} {
		t.Run(c.model, func(t *testing.T) {
			h, up := newTranslatedHarness(t, c.model, sseReply(t, c.fixture))
			params := userParams(c.model)
			params.Tools = []openai.ChatCompletionToolUnionParam{weatherTool()}
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := h.client().Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			calls := acc.Choices[0].Message.ToolCalls
			if len(calls) == 0 || calls[0].ID == "" || calls[0].Function.Name == "" {
				t.Fatalf("tool calls %+v", calls)
			}
			if c.wantName != "" && calls[0].Function.Name != c.wantName {
				t.Errorf("name %q", calls[0].Function.Name)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || len(args) == 0 {
				t.Errorf("arguments %q: %v", calls[0].Function.Arguments, err)
			}
			if acc.Choices[0].FinishReason != "tool_calls" || acc.Usage.TotalTokens == 0 {
				t.Errorf("finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
			}
			sent := string(up.requests()[0].Body)
			if !strings.Contains(sent, "get_current_weather") {
				t.Errorf("tool definition not sent: %s", sent)
			}
		})
	}
}

// A parameter the target cannot honour is a clear 400 naming it, not a silent drop.
func TestChatUnsupportedParameterForTranslatedTarget(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{okReply(t, "anthropic/plain_text.response.json")}})
	params := userParams("claude-sonnet-4-5")
	params.N = openai.Int(2)
	_, err := h.client().Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "n") {
		t.Fatalf("got %v", err)
	}
	if n := len(h.anthropic.requests()); n != 0 {
		t.Errorf("the provider was called %d times", n)
	}
	// The same parameter passes through untouched to an OpenAI-format provider.
	params = userParams("gpt-4o-mini")
	params.N = openai.Int(2)
	if _, err := h.client().Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	if sent := decodeBody(t, h.upstream.requests()[0].Body); sent["n"] != float64(2) {
		t.Errorf("n not passed through: %v", sent["n"])
	}
}
