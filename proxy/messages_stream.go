package proxy

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
)

type messagesStream struct {
	model  string
	body   []byte
	hdr    provider.MessagesHeaders
	decode provider.RequestDecoder
	start  time.Time
}

var (
	eventPrefix = []byte("event: ")
	dataLine    = []byte("\ndata: ")
)

// startMessagesStream opens the upstream stream and, once it is open, makes the relay the
// response body. Failures before the first byte get a normal error reply.
func (s *Server) startMessagesStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, ms messagesStream) {
	streamCtx, cancel := context.WithCancel(runCtx)
	fs, err := rt.Dispatcher.ForwardMessagesStream(streamCtx, ms.model, ms.body, ms.hdr, ms.decode, s.attemptObserver(run, nil))
	if err != nil {
		cancel()
		c := writeAnthropicError(ctx, err)
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("messages", ms.model, run, c, ms.start)
		s.obs.RequestDone(metrics.RequestSummary{Route: metrics.RouteMessages, Stream: true, Status: c.Status, Code: c.Code, Duration: time.Since(ms.start)})
		return
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	ms.body, ms.decode = nil, nil
	r := &messagesRelay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, ms: ms}
	if fs.Raw != nil {
		r.sse = sse.NewReader(fs.Raw)
	} else {
		r.enc = anthropic.NewMessageStreamEncoder(messageID(run), fs.Target.Model)
	}
	r.watch = watchDisconnect(ctx.Conn(), cancel)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	s.streamBody(ctx, r)
}

// messagesRelay is the body of a streamed Messages reply, read by fasthttp from the
// connection's goroutine (see streamRelay for the model). A passed-through Anthropic stream
// is relayed event by event as it came, with its usage read on the way; a translated one is
// encoded from canonical events.
type messagesRelay struct {
	s      *Server
	rt     *Runtime
	run    *spans.Run
	fs     *provider.ForwardedStream
	cancel context.CancelFunc
	ms     messagesStream
	watch  *disconnectWatch

	sse  *sse.Reader // passed-through stream
	scan anthropic.StreamScanner

	enc *anthropic.MessageStreamEncoder // translated stream
	asm streamAssembler

	out      []byte
	off      int
	err      error
	ended    bool
	sentSome bool
	closed   bool
}

// Read hands fasthttp the next encoded events, reading the upstream as needed.
func (r *messagesRelay) Read(p []byte) (int, error) {
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

func (r *messagesRelay) end(err error) { r.ended, r.err = true, err }

// nextRaw relays one event of an Anthropic stream. A stream that ends without message_stop
// gets an error event, so the client never takes a broken stream for a finished one.
func (r *messagesRelay) nextRaw() {
	ev, err := r.sse.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = llm.ErrStreamTruncated
		}
		typ, msg := anthropicStreamErrorType(err)
		r.out = anthropic.EncodeError(r.out, typ, msg)
		r.end(err)
		return
	}
	if len(ev.Name) > 0 {
		r.out = append(append(r.out, eventPrefix...), ev.Name...)
		r.out = append(append(r.out, dataLine...), ev.Data...)
	} else {
		r.out = append(append(r.out, dataPrefix...), ev.Data...)
	}
	r.out = append(r.out, frameEnd...)
	if ue := r.scan.Observe(ev.Name, ev.Data); ue != nil {
		ue.Provider = r.fs.Target.Backend.Name
		r.end(ue)
		return
	}
	if r.scan.Done() {
		r.end(nil)
	}
}

// nextEvent encodes one canonical event of a translated stream.
func (r *messagesRelay) nextEvent() {
	ev, err := r.fs.Events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			r.out = r.enc.Finish(r.out)
			r.end(nil)
			return
		}
		typ, msg := anthropicStreamErrorType(err)
		r.out = anthropic.EncodeError(r.out, typ, msg)
		r.end(err)
		return
	}
	r.asm.add(ev)
	r.out = r.enc.Encode(r.out, ev)
}

// Close is part of io.Closer; fasthttp then calls CloseWithError, which does the work.
func (r *messagesRelay) Close() error { return nil }

// CloseWithError ends the stream: it stops the upstream, ends the spans, prices, logs and
// reports. writeErr is fasthttp's error writing to the client.
func (r *messagesRelay) CloseWithError(writeErr error) error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.watch.stop()
	clean := r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone()
	closeUpstream(r.fs, r.cancel, clean)
	var resp *llm.Response
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
		scanned := r.scan.Response()
		resp = &scanned
	} else {
		resp = r.asm.response()
	}
	err := r.err
	if writeErr != nil || r.watch.clientGone() || !r.ended {
		err = context.Canceled // the client went away (or the server stopped) mid-stream
	}
	if resp.Model == "" {
		resp.Model = r.fs.Target.Model
	}
	r.fs.Finish(resp, err)
	s, ms := r.s, r.ms
	cost, priced := priceFor(r.rt, r.fs.Target, resp)
	sum := metrics.RequestSummary{Route: metrics.RouteMessages, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(ms.start),
		Provider: r.fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if err != nil {
		c := classify(err)
		sum.Code = c.Code
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced, Err: err, ErrorType: c.Code})
		s.logFailure("messages stream", ms.model, r.run, c, ms.start)
	} else {
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
		s.logSuccess("messages stream", r.fs.Target.Backend.Name, resp, r.run, cost, priced, ms.start)
	}
	s.obs.RequestDone(sum)
	return nil
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

// streamAssembler builds the reply of a translated stream from its events, for spans.
type streamAssembler struct {
	resp  llm.Response
	calls []llm.ToolCall
	index map[int]int // canonical tool index -> calls index
}

func (a *streamAssembler) add(ev llm.StreamEvent) {
	resp := &a.resp
	switch ev.Type {
	case llm.EventStart:
		resp.ID, resp.Model = ev.ID, ev.Model
	case llm.EventText:
		resp.Text += ev.Text
		resp.HasText = true
	case llm.EventReasoning:
		if n := len(resp.Reasoning); n == 0 || resp.Reasoning[n-1].Signature != "" {
			resp.Reasoning = append(resp.Reasoning, llm.Reasoning{})
		}
		last := &resp.Reasoning[len(resp.Reasoning)-1]
		last.Text += ev.Text
		last.Signature = ev.Signature
	case llm.EventToolCallStart:
		if a.index == nil {
			a.index = map[int]int{}
		}
		a.index[ev.ToolIndex] = len(a.calls)
		a.calls = append(a.calls, llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName})
	case llm.EventToolCallDelta:
		if i, ok := a.index[ev.ToolIndex]; ok {
			a.calls[i].Arguments = append(a.calls[i].Arguments, ev.Text...)
		}
	case llm.EventFinish:
		resp.FinishReason, resp.RawFinishReason = ev.FinishReason, ev.RawFinishReason
	case llm.EventUsage:
		resp.Usage = ev.Usage
	}
}

func (a *streamAssembler) response() *llm.Response {
	a.resp.ToolCalls = a.calls
	return &a.resp
}
