// Command tracegate-load measures an OpenAI-compatible endpoint under load, and measures
// tracegate side by side with a direct call to the same upstream.
//
// Four modes:
//
//	tracegate-load [flags]          drive one URL (-target) at fixed concurrency (-c) or fixed
//	                                rate (-rate), for -d or -n requests; optionally start the
//	                                built-in mock upstream first (-mock-upstream).
//	tracegate-load mock [flags]     serve only the mock upstream (an OpenAI chat completions
//	                                server with fixed replies, streaming or not).
//	tracegate-load nullgw [flags]   serve only the null gateway: a bare fasthttp relay to
//	                                -upstream that parses nothing, the floor under any gateway.
//	tracegate-load compare [flags]  mock upstream, then direct-to-mock load, the same load through
//	                                the null gateway, and through tracegate (started from
//	                                -tracegate-bin, or a running -gateway), and print the ratios
//	                                DESIGN.md section 9 targets.
//
// In compare the mock upstream and the null gateway run as processes of their own, started
// from this binary (mock and nullgw subcommands), so that a direct call crosses a process
// boundary as a call through a gateway does. A call through any gateway then crosses one more
// loopback hop than a direct call; on a small VM that hop alone costs tens of microseconds
// (kernel and vCPU wake-ups). The null gateway rows measure it, and every tracegate row is also
// compared with the null gateway's: that difference is tracegate's own share. The targets
// stay judged against direct, as DESIGN.md sets them. -mock-inprocess puts the mock back in
// the tool's own process, which makes direct calls cheaper than any cross-process call.
//
// The files: flags.go (command lines), body.go (request bodies), requester.go and sse.go (one
// request on fasthttp, SSE chunk counting), load.go and pacer.go (closed and open loops),
// stats.go and report.go (percentiles, text and JSON), mock.go (the mock upstream), nullgw.go
// (the null gateway), child.go (running both as child processes), compare.go and markdown.go
// (the side-by-side run), gateway.go (starting tracegate), procstat.go (CPU and RSS from
// /proc).
//
// Streams are read with fasthttp's StreamResponseBody: Do returns once headers are in, and the
// body is read chunk by chunk as the server flushes it, so time to first byte is the first
// non-empty read of the body stream.
//
// Traffic goes only to loopback addresses: every URL and listen address is checked, so the tool
// cannot be pointed at a remote service by mistake. Every loop is bounded by a request count and
// a deadline, so a run always ends by itself; child processes also stop when their stdin
// closes, so they end with the tool even if it is killed.
package main
