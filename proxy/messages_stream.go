package proxy

import (
	"context"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/valyala/fasthttp"
)

type messagesStream struct {
	model  string
	body   []byte
	hdr    provider.MessagesHeaders
	decode provider.RequestDecoder
	start  time.Time
	over   *overheadClock // the handler's; not kept past the stream's opening
}

// startMessagesStream opens the upstream stream and, once it is open, makes the relay the
// response body. Failures before the first byte get a normal error reply.
func (s *Server) startMessagesStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, ms messagesStream) {
	streamCtx, cancel := context.WithCancel(runCtx)
	watch := watchDisconnect(ctx.Conn(), cancel) // from the start, as for chat streams
	fs, err := rt.Dispatcher.ForwardMessagesStream(streamCtx, ms.model, ms.body, ms.hdr, ms.decode, s.attemptObserver(run, nil, ms.over))
	over := ms.over
	over.attemptEnded() // the stream is open: relaying it is tracegate's time
	if err != nil {
		watch.stop()
		cancel()
		c := writeAnthropicError(ctx, err)
		s.streamNotOpened(run, metrics.RouteMessages, "messages", ms.model, c, err, ms.start, over.stamp(&ctx.Response.Header))
		return
	}
	// The relay outlives the request ctx, which owns ms.body: it keeps none of ms.
	acct := streamEnd{route: metrics.RouteMessages, label: "messages stream", model: ms.model, start: ms.start}
	r := &messagesRelay{relay: s.newRelay(rt, run, fs, cancel, watch, acct)}
	r.format = r
	if r.sse == nil {
		r.enc = anthropic.NewMessageStreamEncoder(messageID(run), fs.Target.Model)
		r.asm.keepText(run.CapturesContent())
	}
	s.serveRelay(ctx, &r.relay, over)
}

// messagesRelay is the body of a streamed Messages reply (see relay). A passed-through
// Anthropic stream is relayed event by event as it came, with its usage read on the way; a
// translated one is encoded from canonical events.
type messagesRelay struct {
	relay

	scan anthropic.StreamScanner // passed-through stream

	enc *anthropic.MessageStreamEncoder // translated stream
	asm streamAssembler
}

// nextRaw relays one event of an Anthropic stream. A stream that ends without message_stop
// gets an error event, so the client never takes a broken stream for a finished one.
func (r *messagesRelay) nextRaw() {
	ev, ok := r.nextJSON()
	if !ok {
		return
	}
	r.appendEvent(ev)
	if ue := r.scan.Observe(ev.Name, ev.Data); ue != nil {
		ue.Provider = r.fs.Target.Backend.Name
		r.end(ue)
		return
	}
	if r.scan.Done() {
		r.end(nil)
	}
}

// encode encodes one canonical event of a translated stream, assembling the reply for spans.
func (r *messagesRelay) encode(ev llm.StreamEvent) {
	r.asm.add(ev)
	r.out = r.enc.Encode(r.out, ev)
}

func (r *messagesRelay) finish() { r.out = r.enc.Finish(r.out) }

// appendError gives a stream that broke mid-way an Anthropic error event.
func (r *messagesRelay) appendError(err error) {
	typ, msg := anthropicStreamErrorType(err)
	r.out = anthropic.EncodeError(r.out, typ, msg)
}

func (r *messagesRelay) reply(error) *llm.Response {
	if r.enc != nil {
		return r.asm.response()
	}
	r.scan.Release()
	scanned := r.scan.Response()
	return &scanned
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
