package proxy

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
)

// What every streamed reply shares, whichever surface relays it: the buffer of encoded
// bytes fasthttp reads, how a stream's upstream is released, and how its end is accounted.

// relayOut holds the encoded bytes of a relayed stream not yet handed to fasthttp, and how
// the upstream stream ended.
type relayOut struct {
	out      []byte
	off      int
	err      error // what ended the upstream stream, nil for a clean end
	ended    bool  // the upstream stream is over; read returns io.EOF once out is drained
	sentSome bool
}

// read hands fasthttp the next encoded bytes, calling fill to encode more while none are
// left; the run's first chunk is marked when the first byte goes out.
func (o *relayOut) read(p []byte, run *spans.Run, fill func()) (int, error) {
	for o.off >= len(o.out) {
		if o.ended {
			return 0, io.EOF
		}
		o.out, o.off = o.out[:0], 0
		fill()
	}
	n := copy(p, o.out[o.off:])
	o.off += n
	if !o.sentSome {
		o.sentSome = true
		run.FirstChunk()
	}
	return n, nil
}

func (o *relayOut) end(err error) { o.ended, o.err = true, err }

// relayRaw relays one passed-through event with next, then the events that arrived with it,
// so that they go out in one chunk and one flush.
func (o *relayOut) relayRaw(events *sse.Reader, next func()) {
	next()
	for !o.ended && len(o.out) < coalesceLimit && events.HasBufferedEvent() {
		next()
	}
}

// outcome is what ended a stream as the spans see it: a client that went away (or a
// server that stopped) mid-stream is a cancellation, whatever the upstream did.
func (o *relayOut) outcome(writeErr error, w *disconnectWatch) error {
	if writeErr != nil || w.clientGone() || !o.ended {
		return context.Canceled
	}
	return o.err
}

// closeUpstream releases a forwarded stream. A finished one has its end read so the upstream
// connection is reused, bounded in case the provider does not close the response; any other
// is cut, which ends the request upstream too.
func closeUpstream(fs *provider.ForwardedStream, cancel context.CancelFunc, finished bool) {
	if finished {
		t := time.AfterFunc(drainTimeout, cancel)
		fs.Close()
		t.Stop()
		cancel()
		return
	}
	cancel()
	fs.Close()
}

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

// sendStream makes body, a relay, the reply: an SSE stream that proxies must not buffer.
func (s *Server) sendStream(ctx *fasthttp.RequestCtx, body fasthttp.ReadCloserWithError) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	s.streamBody(ctx, body)
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
