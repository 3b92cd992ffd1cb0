package proxy

import (
	"context"
	"log/slog"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fasthttp"
)

// How a stream is accounted for once it is over, or when it failed before it opened.

// streamEnd is a finished stream to account for.
type streamEnd struct {
	route, label, model string // metrics route, log label, model asked for
	start               time.Time
	overhead            time.Duration // up to the reply headers
	resp                *llm.Response
	err                 error
}

// endStream ends a stream's attempt and run spans, prices the reply, logs and reports it.
func (s *Server) endStream(rt *Runtime, run *spans.Run, fs *provider.ForwardedStream, e streamEnd) {
	resp := e.resp
	if resp.Model == "" {
		resp.Model = fs.Target.Model
	}
	fs.Finish(resp, e.err)
	cost, priced := priceFor(rt, fs.Target, resp)
	sum := metrics.RequestSummary{Route: e.route, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(e.start), Overhead: e.overhead,
		Provider: fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if e.err != nil {
		c := classify(e.err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced, Err: e.err, ErrorType: c.Code})
		s.logStreamFailure(e.label, e.model, run, c, e.start, resp, cost, priced)
	} else {
		run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
		s.logSuccess(e.label, fs.Target.Backend.Name, resp, run, cost, priced, e.start)
	}
	s.obs.RequestDone(sum)
}

// streamNotOpened accounts for a stream that failed before its first byte, whose error c
// the surface has already written.
func (s *Server) streamNotOpened(run *spans.Run, route, label, model string, c classified, err error, start time.Time, overhead time.Duration) {
	run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
	s.logFailure(label, model, run, c, start)
	s.obs.RequestDone(metrics.RequestSummary{Route: route, Stream: true, Status: c.Status, Code: c.Code, Duration: time.Since(start), Overhead: overhead})
}

// logStreamFailure logs a stream that failed after it started, with the usage and cost of what
// was received before it broke: that part was paid for.
func (s *Server) logStreamFailure(route, model string, run *spans.Run, c classified, start time.Time, resp *llm.Response, cost float64, priced bool) {
	u := resp.Usage
	s.log.LogAttrs(context.Background(), slog.LevelWarn, route+" failed",
		slog.String("model", model), slog.String("trace_id", run.TraceID()), slog.String("span_id", run.SpanID()),
		slog.Int("status", c.Status), slog.String("code", c.Code), slog.String("error", c.Message),
		slog.Duration("latency", time.Since(start)),
		slog.Int64("input_tokens", u.InputTokens), slog.Int64("output_tokens", u.OutputTokens),
		slog.Float64("cost_usd", roundUSD(cost)), slog.Bool("priced", priced))
}
