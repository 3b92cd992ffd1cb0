// Command tracegate-load measures an OpenAI-compatible endpoint under load, and measures
// tracegate side by side with a direct call to the same upstream.
//
// Three modes:
//
//	tracegate-load [flags]          drive one URL (-target) at fixed concurrency (-c) or fixed
//	                                rate (-rate), for -d or -n requests; optionally start the
//	                                built-in mock upstream first (-mock-upstream).
//	tracegate-load mock [flags]     serve only the mock upstream (an OpenAI chat completions
//	                                server with fixed replies, streaming or not).
//	tracegate-load compare [flags]  mock upstream, then direct-to-mock load, then the same load
//	                                through tracegate (started from -tracegate-bin, or a running
//	                                -gateway), and print the ratios DESIGN.md section 9 targets.
//
// The files: flags.go (command lines), body.go (request bodies), requester.go and sse.go (one
// request on fasthttp, SSE chunk counting), load.go and pacer.go (closed and open loops),
// stats.go and report.go (percentiles, text and JSON), mock.go (the mock upstream), compare.go
// and markdown.go (the side-by-side run), gateway.go (starting tracegate), procstat.go (CPU and
// RSS from /proc).
//
// Streams are read with fasthttp's StreamResponseBody: Do returns once headers are in, and the
// body is read chunk by chunk as the server flushes it, so time to first byte is the first
// non-empty read of the body stream.
//
// Traffic goes only to loopback addresses: every URL and listen address is checked, so the tool
// cannot be pointed at a remote service by mistake. Every loop is bounded by a request count and
// a deadline, so a run always ends by itself.
package main
