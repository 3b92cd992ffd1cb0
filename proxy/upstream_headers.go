package proxy

import (
	"strconv"

	"github.com/tracegate/tracegate/provider"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// writeUpstreamHeaders gives the caller the provider's reply headers that the provider
// package kept for a passed-through reply (x-request-id, openai-processing-ms, x-ratelimit-*,
// retry-after, ...: see provider.ReplyHeader). Every passthrough surface calls it with
// Forwarded.Headers or ForwardedStream.Headers before writing its body; the list is an allow
// list built upstream, so hop-by-hop and auth headers never reach here. Headers tracegate
// sets itself (traceparent, X-Tracegate-*) are never overwritten.
func writeUpstreamHeaders(ctx *fasthttp.RequestCtx, headers []provider.ReplyHeader) {
	for _, h := range headers {
		ctx.Response.Header.Set(h.Name, h.Value)
	}
}

// writeCostedReply writes a successful JSON reply of a model call: X-Tracegate-Cost-Usd,
// then the provider's body with its kept headers when it was passed through (raw != nil), or
// else the body encode appends to dst (a translated reply).
func writeCostedReply(ctx *fasthttp.RequestCtx, cost float64, raw []byte, headers []provider.ReplyHeader, encode func(dst []byte) []byte) {
	var num [32]byte
	ctx.Response.Header.SetBytesV(headerCost, strconv.AppendFloat(num[:0], roundUSD(cost), 'f', -1, 64))
	ctx.SetContentType("application/json")
	if raw != nil {
		writeUpstreamHeaders(ctx, headers)
		compressResponse(ctx, raw)
		return
	}
	buf := bytebufferpool.Get()
	buf.B = encode(buf.B[:0])
	compressResponse(ctx, buf.B)
	bytebufferpool.Put(buf)
}
