// Package translate turns canonical llm types into provider wire formats and back. Each format
// lives in its own subpackage (openai, anthropic, gemini); sse frames Server-Sent Events for the
// streaming decoders. Nothing here does network I/O: callers hand in bodies and readers.
//
// This package itself holds the few helpers the formats share, so that every provider's errors
// read alike: retry hints from headers (RetryAfter, ShouldRetry) and the bounded text kept from
// an error body that is not the provider's envelope (TruncateText).
package translate
