package proxy

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"
)

// The Responses endpoint's benchmarks share benchServer (proxy_timing_test.go), whose
// upstream answers these paths in their own formats.
var benchUpstreams = map[string]fasthttp.RequestHandler{
	"/v1/responses": func(ctx *fasthttp.RequestCtx) {
		if bytes.Contains(ctx.PostBody(), []byte(`"stream":true`)) {
			ctx.SetContentType("text/event-stream")
			ctx.SetBody(benchResponsesStream)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(benchResponsesReply)
	},
	"/v1/messages": func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBody(benchAnthropicStream)
	},
}

var (
	benchResponsesReply = []byte(`{"id":"resp_1","object":"response","created_at":1,"status":"completed","error":null,"incomplete_details":null,` +
		`"instructions":null,"max_output_tokens":null,"model":"gpt-4o-mini","output":[{"type":"message","id":"msg_1","status":"completed",` +
		`"role":"assistant","content":[{"type":"output_text","text":"Hello!","annotations":[]}]}],"parallel_tool_calls":true,` +
		`"previous_response_id":null,"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],` +
		`"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,` +
		`"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15},"user":null,"metadata":{}}`)
	benchResponsesStream = []byte(`event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-4o-mini","output":[],"usage":null}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}

event: response.completed
data: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-mini","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"HiHi","annotations":[]}]}],"usage":{"input_tokens":12,"output_tokens":2,"total_tokens":14}}}

`)
	benchAnthropicStream = []byte(`event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}

event: message_stop
data: {"type":"message_stop"}

`)
)

// BenchmarkResponsesPassthrough is POST /v1/responses end to end, passed through: compare
// with BenchmarkPassthrough (Chat Completions) for the same work.
func BenchmarkResponsesPassthrough(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/responses", []byte(`{"model":"gpt-4o-mini","input":"Say hello"}`))
}

// BenchmarkResponsesPassthroughStream is a streamed POST /v1/responses passed through.
func BenchmarkResponsesPassthroughStream(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/responses", []byte(`{"model":"gpt-4o-mini","stream":true,"input":"Say hello"}`))
}

// BenchmarkResponsesTranslatedStream is a streamed POST /v1/responses for an Anthropic model:
// decode, encode for Anthropic, decode its stream, encode Responses events.
func BenchmarkResponsesTranslatedStream(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/responses", []byte(`{"model":"claude-sonnet-4-5","stream":true,"input":"Say hello"}`))
}
