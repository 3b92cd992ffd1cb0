package llm

import (
	"context"
	"fmt"
	"net"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Failure
	}{
		{nil, FailureNone},
		{fmt.Errorf("x: %w", context.Canceled), FailureCancelled},
		// A cancelled call stays cancelled whatever it also wraps.
		{fmt.Errorf("%w: %w", context.Canceled, ErrTimeout), FailureCancelled},
		{fmt.Errorf("openai after 1s: %w", ErrTimeout), FailureTimeout},
		{context.DeadlineExceeded, FailureTimeout},
		{fmt.Errorf("bad: %w", ErrInvalidRequest), FailureInvalidRequest},
		{fmt.Errorf("w: %w", &UpstreamError{Status: 429}), FailureUpstream},
		{fmt.Errorf("%w: not json", ErrMalformedReply), FailureMalformed},
		{ErrResponseTooLarge, FailureMalformed},
		{fmt.Errorf("x: %w", ErrStreamTruncated), FailureTruncated},
		{&net.OpError{Op: "read", Err: fmt.Errorf("connection reset")}, FailureConnection},
		{fmt.Errorf("x: %w", ErrConnection), FailureConnection},
		{fmt.Errorf("something else"), FailureOther},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
