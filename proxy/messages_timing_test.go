package proxy

import (
	"bytes"
	"net"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/valyala/fasthttp"
)

// messagesBenchServer is tracegate routing claude-* to an Anthropic-format upstream and gpt-*
// to an OpenAI-format one, both fasthttp servers on loopback answering fixed replies.
func messagesBenchServer(b *testing.B) (*fasthttp.Client, func()) {
	b.Helper()
	reply := []byte(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}`)
	delta := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
	stream := []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		delta + delta +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	chunk := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}` + "\n\n"
	chatStream := []byte(chunk + chunk + `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}` + "\n\ndata: [DONE]\n\n")
	return benchAnthropicAndOpenAI(b, func(ctx *fasthttp.RequestCtx) {
		streaming := bytes.Contains(ctx.PostBody(), []byte(`"stream":true`))
		switch {
		case bytes.HasSuffix(ctx.Path(), []byte("/chat/completions")):
			ctx.SetContentType("text/event-stream")
			ctx.SetBody(chatStream)
		case streaming:
			ctx.SetContentType("text/event-stream")
			ctx.SetBody(stream)
		default:
			ctx.SetContentType("application/json")
			ctx.SetBody(reply)
		}
	})
}

// benchAnthropicAndOpenAI is tracegate routing claude-* to an Anthropic-format provider and
// gpt-* to an OpenAI-format one, both served by upstream on loopback.
func benchAnthropicAndOpenAI(b testing.TB, upstream fasthttp.RequestHandler) (*fasthttp.Client, func()) {
	b.Helper()
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: upstream}
	go up.Serve(upLn)
	base := "http://" + upLn.Addr().String()
	client, stop := benchTracegate(b, []config.Provider{
		{Name: "anthropic", Type: "anthropic", BaseURL: base, APIKey: "sk-ant-bench", Timeout: config.Duration(30e9)},
		{Name: "openai", Type: "openai", BaseURL: base + "/v1", APIKey: "sk-bench", Timeout: config.Duration(30e9)},
	}, []config.Route{{Match: "claude-*", Provider: "anthropic"}, {Match: "gpt-*", Provider: "openai"}}, nil)
	return client, func() { stop(); up.Shutdown() }
}

// BenchmarkMessagesPassthrough is POST /v1/messages to an Anthropic-format provider end to
// end: the counterpart of BenchmarkPassthrough (compare their CPU per request).
func BenchmarkMessagesPassthrough(b *testing.B) {
	client, stop := messagesBenchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/messages",
		[]byte(`{"model":"claude-3-5-haiku-20241022","max_tokens":256,"messages":[{"role":"user","content":"Say hello"}]}`))
}

// BenchmarkMessagesPassthroughStream is a streamed POST /v1/messages passed through: the
// counterpart of BenchmarkPassthroughStream.
func BenchmarkMessagesPassthroughStream(b *testing.B) {
	client, stop := messagesBenchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/messages",
		[]byte(`{"model":"claude-3-5-haiku-20241022","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}`))
}

// BenchmarkMessagesTranslatedStream is a streamed POST /v1/messages translated to an
// OpenAI-format provider and its stream encoded back as Anthropic events.
func BenchmarkMessagesTranslatedStream(b *testing.B) {
	client, stop := messagesBenchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/messages",
		[]byte(`{"model":"gpt-4o-mini","max_tokens":256,"stream":true,"system":"Be brief.","messages":[{"role":"user","content":"Say hello"}]}`))
}
