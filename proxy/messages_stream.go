package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

type messagesStream struct {
	model  string
	body   []byte
	hdr    provider.MessagesHeaders
	decode provider.RequestDecoder
	start  time.Time
	over   *overheadClock // the handler's; not kept past the stream's opening
}

var (
	eventPrefix = []byte("event: ")
	dataLine    = []byte("\ndata: ")
)

// startMessagesStream opens the upstream stream and, once it is open, makes the relay the
// response body. Failures before the first byte get a normal error reply.
func (s *Server) startMessagesStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, ms messagesStream) {
	streamCtx, cancel := context.WithCancel(runCtx)
	watch := watchDisconnect(ctx.Conn(), cancel) // from the start, as for chat streams
	fs, err := rt.Dispatcher.ForwardMessagesStream(streamCtx, ms.model, ms.body, ms.hdr, ms.decode, s.attemptObserver(run, nil, ms.over))
	over := ms.over
	ms.over = nil
	over.attemptEnded() // the stream is open: relaying it is tracegate's time
	if err != nil {
		watch.stop()
		cancel()
		c := writeAnthropicError(ctx, err)
		s.streamNotOpened(run, metrics.RouteMessages, "messages", ms.model, c, err, ms.start, over.stamp(&ctx.Response.Header))
		return
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	ms.body, ms.decode = nil, nil
	r := &messagesRelay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, ms: ms}
	if fs.Raw != nil {
		r.sse = sse.NewReader(fs.Raw)
	} else {
		r.enc = anthropic.NewMessageStreamEncoder(messageID(run), fs.Target.Model)
		r.asm.keepText(run.CapturesContent())
	}
	r.watch = watch
	r.overhead = over.stamp(&ctx.Response.Header)
	s.sendStream(ctx, r)
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
	// overhead is tracegate's time up to the reply headers (sendStream sets them after it,
	// which costs nothing measurable).
	overhead time.Duration

	sse  *sse.Reader // passed-through stream
	scan anthropic.StreamScanner

	enc *anthropic.MessageStreamEncoder // translated stream
	asm streamAssembler

	relayOut
	closed bool
}

// Read hands fasthttp the next encoded events, reading the upstream as needed.
func (r *messagesRelay) Read(p []byte) (int, error) { return r.read(p, r.run, r.fill) }

func (r *messagesRelay) fill() {
	if r.sse == nil {
		r.nextEvent()
		return
	}
	r.relayRaw(r.sse, r.nextRaw)
}

// nextRaw relays one event of an Anthropic stream. A stream that ends without message_stop
// gets an error event, so the client never takes a broken stream for a finished one.
func (r *messagesRelay) nextRaw() {
	ev, err := r.sse.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%s: %w", r.fs.Target.Backend.Name, llm.ErrStreamTruncated)
		}
		r.fail(err)
		return
	}
	if err := fastjson.ValidateBytes(ev.Data); err != nil {
		// Not relayed: a client's parser would fail on it with a less clear error than ours.
		r.fail(fmt.Errorf("%s stream event: %w: %w", r.fs.Target.Backend.Name, llm.ErrMalformedReply, err))
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
		r.fail(err)
		return
	}
	r.asm.add(ev)
	r.out = r.enc.Encode(r.out, ev)
}

// fail ends a stream that broke mid-way with an Anthropic error event, so the client never
// takes a broken stream for a finished one.
func (r *messagesRelay) fail(err error) {
	typ, msg := anthropicStreamErrorType(err)
	r.out = anthropic.EncodeError(r.out, typ, msg)
	r.end(err)
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
	closeUpstream(r.fs, r.cancel, r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone())
	resp := r.asm.response()
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
		r.scan.Release()
		scanned := r.scan.Response()
		resp = &scanned
	}
	r.s.endStream(r.rt, r.run, r.fs, streamEnd{route: metrics.RouteMessages, label: "messages stream", model: r.ms.model,
		start: r.ms.start, overhead: r.overhead, resp: resp, err: r.outcome(writeErr, r.watch)})
	return nil
}

// streamAssembler builds the reply of a translated stream from its events, for spans.
type streamAssembler struct {
	resp      llm.Response
	text      replyText
	reasoning replyText // the last block's, whose Text is set once the next one starts
	calls     []llm.ToolCall
	index     map[int]int // canonical tool index -> calls index
}

func (a *streamAssembler) add(ev llm.StreamEvent) {
	resp := &a.resp
	switch ev.Type {
	case llm.EventStart:
		resp.ID, resp.Model = ev.ID, ev.Model
	case llm.EventText:
		a.text.add(ev.Text)
		resp.HasText = true
	case llm.EventReasoning:
		if n := len(resp.Reasoning); n == 0 || resp.Reasoning[n-1].Signature != "" {
			a.endReasoning()
			resp.Reasoning = append(resp.Reasoning, llm.Reasoning{})
		}
		a.reasoning.add(ev.Text)
		resp.Reasoning[len(resp.Reasoning)-1].Signature = ev.Signature
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

// keepText makes the assembler keep the reply's text and reasoning (for captured content).
func (a *streamAssembler) keepText(keep bool) { a.text.keep, a.reasoning.keep = keep, keep }

// endReasoning sets the last reasoning block's text, once no more deltas can join it.
func (a *streamAssembler) endReasoning() {
	if n := len(a.resp.Reasoning); n > 0 && a.reasoning.keep {
		a.resp.Reasoning[n-1].Text = a.reasoning.take()
	}
}

func (a *streamAssembler) response() *llm.Response {
	a.endReasoning()
	a.resp.Text = a.text.take()
	a.resp.ToolCalls = a.calls
	return &a.resp
}
