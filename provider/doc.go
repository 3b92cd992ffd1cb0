// Package provider makes the outbound calls to LLM providers: it routes a model name to a
// configured backend (router.go), encodes the canonical request in the backend's wire format
// through translate (codec.go), sends it (call.go, stream.go, forward.go) over one bounded,
// cancellable HTTP exchange (upstream.go, and upstream_fast.go for unsigned calls, streaming
// or not: the caller's context, timeout, stream_idle_timeout,
// max_response_bytes), retries and falls back within retry.max_elapsed (dispatch.go), and
// answers for the built-in mock provider without any network (mock.go). A new surface that
// calls the Dispatcher inherits all of those bounds.
package provider
