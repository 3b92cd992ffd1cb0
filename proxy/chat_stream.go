package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// probeInterval is how often a stream whose client has sent more bytes (a pipelined request)
// rechecks for a disconnect; otherwise the wait for one costs nothing (see disconnect.go).
const probeInterval = 500 * time.Millisecond

// coalesceLimit caps how many bytes of already-arrived events one chunk carries.
const coalesceLimit = 16 << 10

// drainTimeout bounds reading the end of a finished upstream stream.
const drainTimeout = time.Second

var (
	sseDone    = []byte("data: [DONE]\n\n")
	dataPrefix = []byte("data: ")
	frameEnd   = []byte("\n\n")
)

type chatStream struct {
	model        string
	body         []byte
	includeUsage bool
	decode       provider.RequestDecoder
	start        time.Time
}

// startChatStream opens the upstream stream and, once it is open, makes the relay the response
// body. Failures before the first byte get a normal error reply.
func (s *Server) startChatStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, cs chatStream) {
	upstreamBody := cs.body
	if !cs.includeUsage {
		upstreamBody = openai.WithIncludeUsage(nil, cs.body)
	}
	streamCtx, cancel := context.WithCancel(runCtx)
	// Watched from the start: a provider may take minutes to send its first byte, and a
	// client that leaves meanwhile must cancel the call as well. The relay outlives this
	// handler; it keeps the connection (for the watch), never ctx.
	watch := watchDisconnect(ctx.Conn(), cancel)
	fs, err := rt.Dispatcher.ForwardStream(streamCtx, cs.model, upstreamBody, cs.decode, s.attemptObserver(run, nil))
	if err != nil {
		watch.stop()
		cancel()
		c := writeOpenAIError(ctx, err)
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("chat", cs.model, run, c, cs.start)
		s.obs.RequestDone(metrics.RequestSummary{Route: metrics.RouteChat, Stream: true, Status: c.Status, Code: c.Code, Duration: time.Since(cs.start)})
		return
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	cs.body, cs.decode = nil, nil
	r := &streamRelay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, cs: cs}
	if fs.Raw != nil {
		r.sse = sse.NewReader(fs.Raw)
	} else {
		r.enc = openai.NewChunkEncoder("", "", time.Now().Unix(), cs.includeUsage)
		r.fallbackID = "chatcmpl-" + strings.TrimPrefix(run.SpanID(), "sp_")
	}
	r.watch = watch
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	s.streamBody(ctx, r)
}

// streamRelay is the body of a streamed reply. fasthttp reads it after the handler returns and
// writes each Read as one chunk, flushed at once, from the connection's own goroutine: a chunk
// goes from the upstream socket to the client's without crossing a goroutine. fasthttp closes
// it when the response is done or the client write failed; that ends the spans and reports.
type streamRelay struct {
	s      *Server
	rt     *Runtime
	run    *spans.Run
	fs     *provider.ForwardedStream
	cancel context.CancelFunc
	cs     chatStream
	watch  *disconnectWatch

	sse *sse.Reader // passed-through OpenAI stream

	enc        *openai.ChunkEncoder // translated stream
	fallbackID string
	calls      map[int]*llm.ToolCall
	order      []int

	out      []byte // encoded bytes not yet handed to fasthttp
	off      int
	resp     llm.Response
	err      error // what ended the upstream stream, nil for a clean end
	ended    bool  // the upstream stream is over; Read returns io.EOF once out is drained
	sentSome bool
	closed   bool
}

// Read hands fasthttp the next encoded frames, reading the upstream as needed.
func (r *streamRelay) Read(p []byte) (int, error) {
	for r.off >= len(r.out) {
		if r.ended {
			return 0, io.EOF
		}
		r.out, r.off = r.out[:0], 0
		if r.sse == nil {
			r.nextEvent()
			continue
		}
		r.nextRaw()
		// Events that arrived together go out in one chunk and one flush.
		for !r.ended && len(r.out) < coalesceLimit && r.sse.HasBufferedEvent() {
			r.nextRaw()
		}
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	if !r.sentSome {
		r.sentSome = true
		r.run.FirstChunk()
	}
	return n, nil
}

func (r *streamRelay) end(err error) {
	r.ended, r.err = true, err
}

// fail ends a stream that broke mid-way: the client gets an error event in OpenAI's format
// and no [DONE], so no client mistakes a cut answer for a whole one.
func (r *streamRelay) fail(err error) {
	r.out = openai.EncodeStreamError(r.out, streamErrorEvent(err))
	r.end(err)
}

// nextRaw relays one event of an OpenAI-format stream as it came, reading its usage, and
// drops the extra usage chunk when the client did not ask for it.
func (r *streamRelay) nextRaw() {
	ev, err := r.sse.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%s: %w (no [DONE])", r.fs.Target.Backend.Name, llm.ErrStreamTruncated)
		}
		r.fail(err)
		return
	}
	data := ev.Data
	if bytes.Equal(data, []byte("[DONE]")) {
		r.out = append(r.out, sseDone...)
		r.end(nil)
		return
	}
	if err := fastjson.ValidateBytes(data); err != nil {
		// Not relayed: a client's parser would fail on it with a less clear error than ours.
		r.fail(fmt.Errorf("%s stream event: %w: %w", r.fs.Target.Backend.Name, llm.ErrMalformedReply, err))
		return
	}
	if r.resp.Model == "" {
		r.resp.Model = openai.ScanModel(data)
	}
	usage, hasUsage, usageOnly := openai.ScanChunk(data)
	if hasUsage {
		r.resp.Usage = usage
	}
	if usageOnly && !r.cs.includeUsage {
		return
	}
	r.out = append(append(append(r.out, dataPrefix...), data...), frameEnd...)
	if ue := openai.ScanStreamError(data); ue != nil {
		ue.Provider = r.fs.Target.Backend.Name
		r.end(ue)
	}
}

// nextEvent encodes one canonical event of a translated stream as OpenAI chunks, assembling
// the reply for spans as it goes.
func (r *streamRelay) nextEvent() {
	ev, err := r.fs.Events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			r.out = r.enc.Finish(r.out)
			r.end(nil)
			return
		}
		r.fail(err)
		return
	}
	resp := &r.resp
	switch ev.Type {
	case llm.EventStart:
		if ev.ID == "" {
			ev.ID = r.fallbackID
		}
		resp.ID, resp.Model = ev.ID, ev.Model
	case llm.EventText:
		resp.Text += ev.Text
		resp.HasText = true
	case llm.EventToolCallStart:
		if r.calls == nil {
			r.calls = map[int]*llm.ToolCall{}
		}
		r.calls[ev.ToolIndex] = &llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName}
		r.order = append(r.order, ev.ToolIndex)
	case llm.EventToolCallDelta:
		if c := r.calls[ev.ToolIndex]; c != nil {
			c.Arguments = append(c.Arguments, ev.Text...)
		}
	case llm.EventFinish:
		resp.FinishReason, resp.RawFinishReason = ev.FinishReason, ev.RawFinishReason
	case llm.EventUsage:
		resp.Usage = ev.Usage
	}
	r.out = r.enc.Encode(r.out, ev)
}

// Close is part of io.Closer for fasthttp; the work is in CloseWithError, which it calls
// right after with the write error.
func (r *streamRelay) Close() error { return nil }

// CloseWithError ends the stream: it stops the upstream, ends the attempt and run spans,
// prices the reply, logs and reports. writeErr is fasthttp's error writing to the client.
func (r *streamRelay) CloseWithError(writeErr error) error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.watch.stop()
	if r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone() {
		// A finished stream: read its end so the upstream connection is reused, bounded in
		// case the provider does not close the response.
		t := time.AfterFunc(drainTimeout, r.cancel)
		r.fs.Close()
		t.Stop()
		r.cancel()
	} else {
		r.cancel() // drops the upstream connection: the request ends there too
		r.fs.Close()
	}
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
	}
	err := r.err
	if writeErr != nil || r.watch.clientGone() || !r.ended {
		err = context.Canceled // the client went away (or the server stopped) mid-stream
	}
	resp := &r.resp
	for _, i := range r.order {
		resp.ToolCalls = append(resp.ToolCalls, *r.calls[i])
	}
	if resp.Model == "" {
		resp.Model = r.fs.Target.Model
	}
	r.fs.Finish(resp, err)
	s, cs := r.s, r.cs
	cost, priced := priceFor(r.rt, r.fs.Target, resp)
	sum := metrics.RequestSummary{Route: metrics.RouteChat, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(cs.start),
		Provider: r.fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if err != nil {
		c := classify(err)
		sum.Code = c.Code
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced, Err: err, ErrorType: c.Code})
		s.logStreamFailure("chat stream", cs.model, r.run, c, cs.start, resp, cost, priced)
	} else {
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
		s.logSuccess("chat stream", r.fs.Target.Backend.Name, resp, r.run, cost, priced, cs.start)
	}
	s.obs.RequestDone(sum)
	return nil
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
