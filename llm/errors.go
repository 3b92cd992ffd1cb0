package llm

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidRequest marks errors caused by the caller's input. Wrap it with %w.
var ErrInvalidRequest = errors.New("invalid request")

// ErrStreamTruncated marks a provider stream that ended before its terminal event.
var ErrStreamTruncated = errors.New("stream ended before its terminal event")

// UpstreamError is an error reply from a provider, decoded from its error envelope.
type UpstreamError struct {
	Provider string // configured provider name
	Status   int    // HTTP status; 0 for an error event inside a stream
	Type     string // provider error type (rate_limit_error, RESOURCE_EXHAUSTED, ...)
	Code     string // provider error code (insufficient_quota, ...)
	Message  string
	// RetryAfter is the provider's hint (Retry-After, retry-after-ms, Gemini retryDelay); 0 if none.
	RetryAfter time.Duration
	// ShouldRetry is the provider's x-should-retry verdict: nil when absent.
	ShouldRetry *bool
}

func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: stream error %s: %s", e.Provider, e.Type, e.Message)
	}
	kind := e.Type
	switch {
	case kind == "":
		kind = e.Code // Azure's errors have a code and no type
	case e.Code != "" && e.Code != e.Type:
		kind += "/" + e.Code
	}
	if kind == "" {
		return fmt.Sprintf("%s: status %d: %s", e.Provider, e.Status, e.Message)
	}
	return fmt.Sprintf("%s: status %d %s: %s", e.Provider, e.Status, kind, e.Message)
}

// Retryable reports whether repeating the same request may succeed: 408, 409, 429 (not an
// exhausted quota), 5xx and Anthropic's 529, unless the provider said x-should-retry.
func (e *UpstreamError) Retryable() bool {
	if e.Code == "insufficient_quota" || e.Type == "insufficient_quota" {
		return false
	}
	if e.ShouldRetry != nil {
		return *e.ShouldRetry
	}
	switch {
	case e.Status == 0:
		return e.Type == "overloaded_error" || e.Type == "api_error"
	case e.Status == 408, e.Status == 409, e.Status == 429, e.Status >= 500:
		return true
	}
	return false
}
