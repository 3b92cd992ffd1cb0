package proxy

import (
	"context"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
)

// anthropicProviderHeaders are what Anthropic's reply carries: its request id and rate-limit
// state must reach a Messages caller on the passthrough, credentials and cookies must not.
var anthropicProviderHeaders = map[string]string{
	"Request-Id":                             "req_011CWkq",
	"Anthropic-Organization-Id":              "org-uuid",
	"Anthropic-Ratelimit-Requests-Limit":     "4000",
	"Anthropic-Ratelimit-Requests-Remaining": "3999",
	"Anthropic-Ratelimit-Tokens-Reset":       "2026-12-01T20:00:00Z",
	"Retry-After":                            "2",
	"Set-Cookie":                             "_cfuvid=secret; path=/",
	"X-Api-Key":                              "sk-ant-leaked",
}

func withAnthropicHeaders(r upstreamReply) upstreamReply {
	return withReplyHeaders(r, anthropicProviderHeaders)
}

func checkAnthropicHeaders(t *testing.T, got http.Header) {
	t.Helper()
	for k, v := range anthropicProviderHeaders {
		switch k {
		case "Set-Cookie", "X-Api-Key":
			if got.Get(k) != "" {
				t.Errorf("%s passed through: %q", k, got.Get(k))
			}
		default:
			if got.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, got.Get(k), v)
			}
		}
	}
}

func TestMessagesPassthroughKeepsProviderHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{
		withAnthropicHeaders(okReply(t, "anthropic/plain_text.response.json")),
		withAnthropicHeaders(sseReply(t, "anthropic/streaming_text.sse")),
	}})
	client := anthropicClient(h)
	p := anthropic.MessageNewParams{Model: "anthropic/claude-3-7-sonnet-20250219", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
	var hdr http.Header
	if _, err := client.Messages.New(context.Background(), p, replyHeaders(&hdr)); err != nil {
		t.Fatal(err)
	}
	checkAnthropicHeaders(t, hdr)

	hdr = nil
	stream := client.Messages.NewStreaming(context.Background(), p, replyHeaders(&hdr))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n == 0 {
		t.Fatalf("stream: %d events, %v", n, err)
	}
	checkAnthropicHeaders(t, hdr)
}
