package proxy

import (
	"context"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3/option"
)

// providerHeaders are what a provider's reply carries: the useful ones must reach the caller,
// the rest (cookies, hop-by-hop, anything credential-like) must not.
var providerHeaders = map[string]string{
	"X-Request-Id":                   "req_7f3a",
	"Openai-Processing-Ms":           "412",
	"Openai-Organization":            "org-test",
	"Openai-Version":                 "2020-10-01",
	"X-Ratelimit-Limit-Requests":     "10000",
	"X-Ratelimit-Remaining-Requests": "9999",
	"X-Ratelimit-Reset-Tokens":       "6ms",
	"Retry-After":                    "1",
	"Set-Cookie":                     "__cf_bm=secret; path=/",
	"Keep-Alive":                     "timeout=5",
	"X-Api-Key":                      "sk-leaked",
	"Openai-Project":                 "proj_secret",
	"Cf-Ray":                         "8a1b",
}

func withProviderHeaders(r upstreamReply) upstreamReply { return withReplyHeaders(r, providerHeaders) }

// withReplyHeaders is r with extra added to its headers.
func withReplyHeaders(r upstreamReply, extra map[string]string) upstreamReply {
	h := map[string]string{}
	for k, v := range r.Header {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	r.Header = h
	return r
}

func checkPassedHeaders(t *testing.T, got http.Header) {
	t.Helper()
	for _, k := range []string{"X-Request-Id", "Openai-Processing-Ms", "Openai-Organization", "Openai-Version",
		"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Tokens", "Retry-After"} {
		if got.Get(k) != providerHeaders[k] {
			t.Errorf("%s = %q, want %q", k, got.Get(k), providerHeaders[k])
		}
	}
	for _, k := range []string{"Set-Cookie", "Keep-Alive", "X-Api-Key", "Openai-Project", "Cf-Ray"} {
		if v := got.Get(k); v != "" {
			t.Errorf("%s passed through: %q", k, v)
		}
	}
	if got.Get("traceparent") == "" || got.Get(headerSpanID) == "" {
		t.Errorf("tracegate's own headers missing: %v", got)
	}
}

func TestChatPassthroughKeepsProviderHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{withProviderHeaders(okReply(t, "openai/plain_text.response.json"))}})
	var httpResp *http.Response
	if _, err := h.client().Chat.Completions.New(context.Background(), userParams("gpt-4o-mini"), option.WithResponseInto(&httpResp)); err != nil {
		t.Fatal(err)
	}
	checkPassedHeaders(t, httpResp.Header)
	if httpResp.Header.Get(headerCost) == "" {
		t.Error("no cost header")
	}
}

func TestChatStreamPassthroughKeepsProviderHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{withProviderHeaders(sseReply(t, "openai/streaming_text.sse"))}})
	var httpResp *http.Response
	stream := h.client().Chat.Completions.NewStreaming(context.Background(), userParams("gpt-4o-mini"), option.WithResponseInto(&httpResp))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n == 0 {
		t.Fatalf("stream: %d chunks, %v", n, err)
	}
	checkPassedHeaders(t, httpResp.Header)
	if ct := httpResp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
}

// A translated reply has no OpenAI headers to keep, and must not invent any.
func TestTranslatedChatAddsNoProviderHeaders(t *testing.T) {
	h, _ := newTranslatedHarness(t, "gemini-2.5-flash", withProviderHeaders(okReply(t, "gemini/plain_text.response.json")))
	var httpResp *http.Response
	if _, err := h.client().Chat.Completions.New(context.Background(), userParams("gemini-2.5-flash"), option.WithResponseInto(&httpResp)); err != nil {
		t.Fatal(err)
	}
	if v := httpResp.Header.Get("X-Request-Id"); v != "" {
		t.Errorf("X-Request-Id %q on a translated reply", v)
	}
}
