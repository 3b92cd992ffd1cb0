package proxy

import (
	"time"

	"github.com/tracegate/tracegate/llm"
)

// Observer is told about every finished request and provider attempt, for metrics. Calls are
// made on the request path after the reply is written: implementations must be cheap and
// must not block.
type Observer interface {
	RequestDone(r RequestSummary)
	AttemptDone(a AttemptSummary)
}

// Route names, as reported to the Observer.
const (
	RouteRun     = "run"
	RoutePrompts = "prompts"
	RouteChat    = "chat_completions"
	RouteModels  = "models"
	RouteOps     = "ops"
	RouteUnknown = "unknown"
)

// RequestSummary describes one finished inbound request.
type RequestSummary struct {
	Route    string
	Status   int
	Code     string // error code when the request failed
	Duration time.Duration
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

// StreamObserver is optionally implemented by an Observer that also tracks streaming
// responses in flight. The streaming handler calls StreamStarted once the stream is committed
// (status and headers sent) and StreamEnded exactly once when it finishes, however it ends;
// use Server.streamStarted and Server.streamEnded, which do nothing for observers without it.
type StreamObserver interface {
	StreamStarted()
	StreamEnded()
}

type nopObserver struct{}

func (nopObserver) RequestDone(RequestSummary) {}
func (nopObserver) AttemptDone(AttemptSummary) {}
func (nopObserver) StreamStarted()             {}
func (nopObserver) StreamEnded()               {}

// streamStarted tells the observer a stream began relaying.
func (s *Server) streamStarted() { s.streams.StreamStarted() }

// streamEnded tells the observer a stream finished; call it once per streamStarted.
func (s *Server) streamEnded() { s.streams.StreamEnded() }
