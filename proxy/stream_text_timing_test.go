package proxy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// longStreamDeltas is how many text deltas the long streams below carry: enough that text
// assembled by appending to a string (a copy of all the text so far per delta) dominates.
const longStreamDeltas = 32 << 10

// longStreamServer is tracegate routing claude-* to an Anthropic-format upstream and gpt-* to
// an OpenAI-format one, each streaming longStreamDeltas text deltas of one word.
func longStreamServer(b *testing.B) (*fasthttp.Client, func()) {
	b.Helper()
	var anth, chat strings.Builder
	anth.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for range longStreamDeltas {
		anth.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n")
		chat.WriteString(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}` + "\n\n")
	}
	anth.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":32768}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	chat.WriteString(`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":32768,"total_tokens":32780}}` + "\n\ndata: [DONE]\n\n")
	anthStream, chatStream := []byte(anth.String()), []byte(chat.String())
	return benchAnthropicAndOpenAI(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		if bytes.HasSuffix(ctx.Path(), []byte("/chat/completions")) {
			ctx.SetBody(chatStream)
			return
		}
		ctx.SetBody(anthStream)
	})
}

// BenchmarkLongTranslatedStream is a translated stream of longStreamDeltas text deltas on
// each surface, content capture off: what assembling the reply text costs (B/op).
func BenchmarkLongTranslatedStream(b *testing.B) {
	client, stop := longStreamServer(b)
	defer stop()
	b.Run("chat", func(b *testing.B) {
		benchRoundTrip(b, client, "http://tracegate/v1/chat/completions",
			[]byte(`{"model":"claude-3-5-haiku-20241022","stream":true,"messages":[{"role":"user","content":"Talk"}]}`))
	})
	b.Run("responses", func(b *testing.B) {
		benchRoundTrip(b, client, "http://tracegate/v1/responses",
			[]byte(`{"model":"claude-3-5-haiku-20241022","stream":true,"input":"Talk"}`))
	})
	b.Run("messages", func(b *testing.B) {
		benchRoundTrip(b, client, "http://tracegate/v1/messages",
			[]byte(`{"model":"gpt-4o-mini","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Talk"}]}`))
	})
}
