package proxy

import (
	"time"

	"github.com/tracegate/tracegate/metrics"
	"github.com/valyala/fasthttp"
)

// requestReport is what a handler reports to the metrics when its request ends: the summary
// it fills in as it goes, its start and tracegate's share of its time.
type requestReport struct {
	start time.Time
	sum   metrics.RequestSummary
	over  *overheadClock
}

func startRequest(route string) requestReport {
	return requestReport{start: time.Now(), sum: metrics.RequestSummary{Route: route}, over: startOverheadClock()}
}

// requestDone stamps X-Tracegate-Overhead-Ms and reports the request, unless it became a
// stream (streaming), which stamped its overhead as it opened and reports when it ends.
func (s *Server) requestDone(ctx *fasthttp.RequestCtx, r *requestReport, streaming bool) {
	if !streaming {
		r.sum.Overhead = r.over.stamp(&ctx.Response.Header)
		r.sum.Status, r.sum.Duration = ctx.Response.StatusCode(), time.Since(r.start)
		s.obs.RequestDone(r.sum)
	}
	r.over.release()
}
