package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tracegate/tracegate/metrics"
	"github.com/valyala/fasthttp"
)

// errOverloaded is the request refused because server.max_concurrent requests are in flight.
var errOverloaded = errors.New("too many concurrent requests")

// overloadRetryAfter is the Retry-After sent with a refusal: slots free up as fast as LLM
// calls finish, so a short wait is the right hint.
const overloadRetryAfter = "1"

// concurrencyLimit bounds the requests handled at once. Past the limit a request is refused
// at once with 503, rather than queued: a queue in front of multi-second LLM calls only turns
// overload into timeouts. max <= 0 means no limit.
type concurrencyLimit struct {
	max    int64
	active atomic.Int64
	// refusal is built once: refusing must stay cheap under the load that causes it.
	refusal error
}

func newConcurrencyLimit(max int) *concurrencyLimit {
	return &concurrencyLimit{
		max:     int64(max),
		refusal: fmt.Errorf("%w: tracegate is at server.max_concurrent (%d); retry shortly", errOverloaded, max),
	}
}

// acquire takes a slot, reporting false when none is free.
func (l *concurrencyLimit) acquire() bool {
	if l.max <= 0 {
		return true
	}
	if l.active.Add(1) > l.max {
		l.active.Add(-1)
		return false
	}
	return true
}

// hold takes a slot even past the limit, for a stream whose request already had one.
func (l *concurrencyLimit) hold() {
	if l.max > 0 {
		l.active.Add(1)
	}
}

func (l *concurrencyLimit) release() {
	if l.max > 0 {
		l.active.Add(-1)
	}
}

// fasthttpConcurrency is the worker limit given to fasthttp. fasthttp counts connections,
// idle keep-alive ones included, so it is only a backstop well above max_concurrent; the
// in-handler limit is what answers with a clear error.
func fasthttpConcurrency(maxConcurrent int) int {
	if backstop := 4 * maxConcurrent; backstop > fasthttp.DefaultConcurrency {
		return backstop
	}
	return fasthttp.DefaultConcurrency
}

// refuseOverloaded answers a request over the concurrency limit, in the error shape of the
// API it was sent to.
func (s *Server) refuseOverloaded(ctx *fasthttp.RequestCtx, path []byte) {
	rq := startRequest(routeOf(path)) // no provider call: all of its time is tracegate's
	var c classified
	if bytes.HasPrefix(path, pathMessages) {
		c = writeAnthropicError(ctx, s.limit.refusal)
	} else if bytes.HasPrefix(path, pathOpenAIPrefix) {
		c = writeOpenAIError(ctx, s.limit.refusal)
	} else {
		c = writeRunError(ctx, s.limit.refusal)
	}
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, overloadRetryAfter)
	rq.sum.Code = c.Code
	s.requestDone(ctx, &rq, false)
}

var pathOpenAIPrefix = []byte("/v1/")

// routeOf names the route of path for metrics, without routing it.
func routeOf(path []byte) string {
	switch {
	case bytes.HasPrefix(path, pathRunPrefix) && bytes.HasSuffix(path, suffixRun):
		return metrics.RouteRun
	case bytes.HasPrefix(path, pathPrompts):
		return metrics.RoutePrompts
	case bytes.Equal(path, pathChat):
		return metrics.RouteChat
	case bytes.Equal(path, pathModels):
		return metrics.RouteModels
	case bytes.HasPrefix(path, pathMessages):
		return metrics.RouteMessages
	case bytes.HasPrefix(path, pathResponses):
		return metrics.RouteResponses
	}
	return metrics.RouteUnknown
}

// streamBody makes stream the response body, and keeps the request counted (InFlight, the
// concurrency limit, the StreamObserver) until fasthttp closes it. fasthttp reads the body
// after the handler returns, so without this a long stream would stop counting as soon as its
// headers were sent, and max_concurrent would not bound streams. fasthttp writes each Read as
// one chunk and flushes it.
func (s *Server) streamBody(ctx *fasthttp.RequestCtx, stream fasthttp.ReadCloserWithError) {
	s.inFlight.Add(1)
	s.limit.hold()
	s.streamStarted()
	ctx.Response.SetBodyStream(&countedStream{ReadCloserWithError: stream, s: s}, -1)
}

// countedStream releases the stream's count when fasthttp closes it.
type countedStream struct {
	fasthttp.ReadCloserWithError
	s    *Server
	done bool
}

func (c *countedStream) CloseWithError(err error) error {
	if c.done {
		return nil
	}
	c.done = true
	defer func() {
		c.s.streamEnded()
		c.s.limit.release()
		c.s.inFlight.Add(-1)
	}()
	return c.ReadCloserWithError.CloseWithError(err)
}
