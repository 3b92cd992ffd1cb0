// Package llm holds the canonical types every other tracegate package speaks: a provider-neutral
// Request, its Messages and Parts, Tools and ToolCalls, the Response with normalised Usage and
// FinishReason, and the StreamEvents a streaming decoder yields.
//
// It is a leaf: it imports nothing from tracegate, does no I/O, and owns the few error types that
// several packages must agree on (UpstreamError, ErrInvalidRequest).
package llm
