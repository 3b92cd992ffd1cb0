package llm

import (
	"context"
	"errors"
	"net"
)

// Failures of a provider call that every layer names the same way. They live here, beside
// UpstreamError, so that Classify is the one place that sorts errors into kinds: the spans
// (error.type) and the HTTP surfaces (status and code) both start from it.
var (
	// ErrTimeout means the provider did not answer, or fell silent, within its timeout.
	ErrTimeout = errors.New("provider timed out")
	// ErrConnection means the provider could not be reached or dropped the connection.
	ErrConnection = errors.New("provider connection failed")
	// ErrMalformedReply means a reply or stream event could not be read: a 2xx body that is
	// not JSON, an event that is not JSON or is over its size limit.
	ErrMalformedReply = errors.New("malformed provider reply")
	// ErrResponseTooLarge means a reply ran past its size limit; the rest was not read.
	ErrResponseTooLarge = errors.New("provider reply too large")
)

// Failure is the kind of a failed call.
type Failure int

// Kinds of failure, from Classify.
const (
	FailureNone           Failure = iota
	FailureCancelled              // the caller went away
	FailureTimeout                // a timeout or deadline
	FailureInvalidRequest         // the caller's input is at fault
	FailureUpstream               // the provider's own error reply or event (*UpstreamError)
	FailureConnection             // the provider unreachable, or the connection reset
	FailureMalformed              // a reply or event that could not be read, or too large
	FailureTruncated              // a stream that ended before its terminal event
	FailureOther                  // anything else: tracegate's own failures
)

// Classify sorts err into its kind. The first match wins, so a cancelled call is
// FailureCancelled whatever else its error wraps.
func Classify(err error) Failure {
	var ue *UpstreamError
	var ne net.Error
	var oe *net.OpError
	switch {
	case err == nil:
		return FailureNone
	case errors.Is(err, context.Canceled):
		return FailureCancelled
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return FailureTimeout
	case errors.Is(err, ErrInvalidRequest):
		return FailureInvalidRequest
	case errors.As(err, &ue):
		return FailureUpstream
	case errors.Is(err, ErrMalformedReply), errors.Is(err, ErrResponseTooLarge):
		return FailureMalformed
	case errors.Is(err, ErrStreamTruncated):
		return FailureTruncated
	case errors.As(err, &ne) && ne.Timeout():
		return FailureTimeout
	case errors.Is(err, ErrConnection), errors.As(err, &oe):
		return FailureConnection
	}
	return FailureOther
}
