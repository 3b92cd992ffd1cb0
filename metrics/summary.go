package metrics

import (
	"time"

	"github.com/tracegate/tracegate/llm"
)

// The summaries are what the proxy reports per request and per provider attempt. They live
// here, beside the code that counts them, so that proxy depends on metrics and nothing
// depends on proxy.

// Route names, as reported to the Observer.
const (
	RouteRun     = "run"
	RoutePrompts = "prompts"
	RouteChat    = "chat_completions"
	RouteModels  = "models"
	// RouteMessages is the Anthropic Messages endpoint (/v1/messages and its count_tokens).
	RouteMessages = "messages"
	RouteOps      = "ops"
	RouteUnknown  = "unknown"
)

// RouteResponses is the OpenAI Responses API (/v1/responses and /v1/responses/{id}).
const RouteResponses = "responses"

// RequestSummary describes one finished inbound request.
type RequestSummary struct {
	Route    string
	Status   int
	Code     string // error code when the request failed
	Duration time.Duration
	// Overhead is the time spent in tracegate itself, provider calls excluded (OverheadClock
	// measures it); it goes to tracegate_overhead_seconds when > 0, so surfaces that do not
	// measure it yet leave the histogram alone.
	Overhead time.Duration
	Stream   bool
	// Set when a provider answered.
	Provider string
	Model    string // the model that served the request
	Usage    llm.Usage
	Cost     float64
	Priced   bool
	// StaleTemplate is true when the prompt came from the registry cache past its TTL.
	StaleTemplate bool
}

// AttemptSummary describes one provider attempt.
type AttemptSummary struct {
	Provider string
	Model    string
	Status   int    // upstream HTTP status; 0 when no reply arrived
	ErrType  string // "" on success
	Duration time.Duration
}
