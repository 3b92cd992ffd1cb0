// Package provider makes the outbound calls to LLM providers: it routes a model name to a
// configured backend (router.go), encodes the canonical request in the backend's wire format
// through translate (codec.go), sends it (call.go, stream.go), retries and falls back
// (dispatch.go), and answers for the built-in mock provider without any network (mock.go).
package provider
