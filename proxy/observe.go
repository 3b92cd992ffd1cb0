package proxy

import "github.com/tracegate/tracegate/metrics"

// Observer is told about every finished request and provider attempt, for metrics. Calls are
// made on the request path after the reply is written: implementations must be cheap and
// must not block.
type Observer interface {
	RequestDone(r metrics.RequestSummary)
	AttemptDone(a metrics.AttemptSummary)
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

func (nopObserver) RequestDone(metrics.RequestSummary) {}
func (nopObserver) AttemptDone(metrics.AttemptSummary) {}
func (nopObserver) StreamStarted()                     {}
func (nopObserver) StreamEnded()                       {}

// streamStarted tells the observer a stream began relaying.
func (s *Server) streamStarted() { s.streams.StreamStarted() }

// streamEnded tells the observer a stream finished; call it once per streamStarted.
func (s *Server) streamEnded() { s.streams.StreamEnded() }
