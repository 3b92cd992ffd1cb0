package proxy

import (
	"sync"
	"time"

	"github.com/tracegate/tracegate/metrics"
	"github.com/valyala/fasthttp"
)

// overheadClock is one request's metrics.OverheadClock, fed by its provider attempts through
// attemptObserver: an attempt counts as provider time from its start to its end, a streamed
// one only up to its stream being open (the upstream's reply headers), after which relaying is
// tracegate's. Backoff sleeps between attempts fall outside every attempt: they count as
// overhead (tracegate chose to wait).
type overheadClock struct {
	metrics.OverheadClock
	began time.Time // when the attempt not yet counted started; zero when none is open
}

// overheadClocks recycles clocks: an attempt observer holds one, so it would otherwise
// escape to the heap on every request.
var overheadClocks = sync.Pool{New: func() any { return new(overheadClock) }}

// startOverheadClock starts a request's clock; release it when the handler returns.
func startOverheadClock() *overheadClock {
	c := overheadClocks.Get().(*overheadClock)
	*c = overheadClock{OverheadClock: metrics.StartOverhead()}
	return c
}

func (c *overheadClock) release() { overheadClocks.Put(c) }

func (c *overheadClock) attemptStarted() {
	if c != nil {
		c.began = time.Now()
	}
}

// attemptEnded counts the open attempt as provider time; once only, however often called.
func (c *overheadClock) attemptEnded() {
	if c != nil && !c.began.IsZero() {
		c.Provider(time.Since(c.began))
		c.began = time.Time{}
	}
}

// stamp ends the open attempt, if any, sets the overhead header on the reply about to go
// out, and returns the overhead for the request's metrics.
func (c *overheadClock) stamp(h *fasthttp.ResponseHeader) time.Duration {
	c.attemptEnded()
	d := c.Overhead()
	metrics.SetOverheadHeader(h, d)
	return d
}
