package metrics

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// OverheadHeader is the reply header carrying a request's overhead in milliseconds.
const OverheadHeader = "X-Tracegate-Overhead-Ms"

// OverheadClock measures the time a request spends in tracegate itself: from Start to
// Overhead, less the provider calls reported through Provider. A zero OverheadClock reports
// no overhead. It is a value kept on the request's stack or state: it does not allocate and
// needs no lock as long as one goroutine drives it; a provider call made from another
// goroutine reports its duration once that call returns.
type OverheadClock struct {
	start    time.Time
	provider time.Duration
}

// StartOverhead starts the clock when the request arrives.
func StartOverhead() OverheadClock { return OverheadClock{start: time.Now()} }

// Provider subtracts one provider call (an attempt, from sending the request to the last
// byte read, or to the first byte for a stream whose relay is then timed as tracegate's).
func (c *OverheadClock) Provider(d time.Duration) {
	if d > 0 {
		c.provider += d
	}
}

// Overhead is the time since Start less the provider calls; never negative, zero for a clock
// that was never started.
func (c *OverheadClock) Overhead() time.Duration {
	if c.start.IsZero() {
		return 0
	}
	return max(0, time.Since(c.start)-c.provider)
}

// AppendOverheadMillis appends d in milliseconds with microsecond precision ("0.042"), the
// value of OverheadHeader, without allocating.
func AppendOverheadMillis(dst []byte, d time.Duration) []byte {
	us := max(0, d.Microseconds())
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}

var overheadHeaderKey = []byte(OverheadHeader)

// SetOverheadHeader sets OverheadHeader on a reply to d in milliseconds, without allocating.
// Call it before the status line and headers go out (for a stream: before the body writer
// starts), with the overhead so far.
func SetOverheadHeader(h *fasthttp.ResponseHeader, d time.Duration) {
	var buf [24]byte
	h.SetCanonical(overheadHeaderKey, AppendOverheadMillis(buf[:0], d))
}
