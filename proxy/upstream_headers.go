package proxy

import (
	"github.com/tracegate/tracegate/provider"
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
