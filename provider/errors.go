package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracegate/tracegate/internal/redact"
	"github.com/tracegate/tracegate/llm"
)

// ErrUnsupportedModel means no configured provider serves the model.
var ErrUnsupportedModel = errors.New("no provider serves this model")

// ErrTimeout means the provider did not answer within its timeout (llm.ErrTimeout).
var ErrTimeout = llm.ErrTimeout

// ErrMalformedReply means a provider's reply (or a stream event) could not be read: a 2xx
// body that is not JSON, an event that is not JSON or is oversized (llm.ErrMalformedReply).
var ErrMalformedReply = llm.ErrMalformedReply

// ErrResponseTooLarge means a reply ran past the provider's max_response_bytes; the rest was
// not read (llm.ErrResponseTooLarge).
var ErrResponseTooLarge = llm.ErrResponseTooLarge

// MissingKeyError means the provider a model routes to has no API key configured.
type MissingKeyError struct {
	Provider string
	Var      string // the environment variable to set, when known
}

func (e *MissingKeyError) Error() string {
	if e.Var != "" {
		return fmt.Sprintf("provider %q has no API key: set %s", e.Provider, e.Var)
	}
	return fmt.Sprintf("provider %q has no API key: set its api_key in the config", e.Provider)
}

// ConnectionError is a failure to reach the provider (refused, reset, DNS); it is retryable.
type ConnectionError struct {
	Provider string
	Err      error
}

func (e *ConnectionError) Error() string {
	return fmt.Sprintf("%s: connection failed: %v", e.Provider, e.Err)
}

// Unwrap returns the transport error.
func (e *ConnectionError) Unwrap() error { return e.Err }

// Is makes a ConnectionError an llm.ErrConnection, for llm.Classify.
func (e *ConnectionError) Is(target error) bool { return target == llm.ErrConnection }

// redactKeys removes the backend's key, and anything shaped like a key, from an upstream
// error's message, so it can reach callers, spans and logs.
func (b *Backend) redactKeys(ue *llm.UpstreamError) *llm.UpstreamError {
	if b.apiKey != "" {
		ue.Message = strings.ReplaceAll(ue.Message, b.apiKey, "[REDACTED]")
	}
	ue.Message = redact.Secrets(ue.Message)
	return ue
}
