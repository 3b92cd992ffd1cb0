package proxy

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/fasthttp"
)

// probeInterval is how often a stream whose client has sent more bytes (a pipelined request)
// rechecks for a disconnect; otherwise the wait for one costs nothing (see disconnect.go).
const probeInterval = 500 * time.Millisecond

// coalesceLimit caps how many bytes of already-arrived events one chunk carries.
const coalesceLimit = 16 << 10

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
// body. A failure before the first byte is returned, for a normal error reply.
func (s *Server) startChatStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, cs chatStream, over *overheadClock) error {
	upstreamBody := cs.body
	var bodyBox *[]byte // the rewritten body's pool entry, the relay's once the stream is open
	if !cs.includeUsage {
		bodyBox = rewrittenBodies.Get().(*[]byte)
		upstreamBody = openai.WithIncludeUsage((*bodyBox)[:0], cs.body)
		*bodyBox = upstreamBody
	}
	streamCtx, cancel := context.WithCancel(runCtx)
	// Watched from the start: a provider may take minutes to send its first byte, and a
	// client that leaves meanwhile must cancel the call as well.
	watch := watchDisconnect(ctx.Conn(), cancel)
	fs, err := rt.Dispatcher.ForwardStream(streamCtx, cs.model, upstreamBody, cs.decode, s.attemptObserver(run, nil, over))
	over.attemptEnded() // the stream is open: relaying it is tracegate's time
	if err != nil {
		watch.stop()
		cancel()
		return err // bodyBox, if any, is left to the collector: a failed call may still hold it
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	cs.body, cs.decode = nil, nil
	acct := streamEnd{route: metrics.RouteChat, label: "chat stream", model: cs.model, start: cs.start}
	r := &streamRelay{relay: s.newRelay(rt, run, fs, cancel, watch, acct), cs: cs}
	r.bodyBox = bodyBox
	r.format = r
	if r.sse == nil {
		r.text.keep = run.CapturesContent()
		r.enc = openai.NewChunkEncoder("", "", time.Now().Unix(), cs.includeUsage)
		r.fallbackID = "chatcmpl-" + strings.TrimPrefix(run.SpanID(), "sp_")
	}
	s.serveRelay(ctx, &r.relay, over)
	return nil
}

// streamRelay is the body of a streamed Chat Completions reply (see relay).
type streamRelay struct {
	relay
	cs chatStream

	enc        *openai.ChunkEncoder // translated stream
	fallbackID string
	calls      map[int]*llm.ToolCall
	order      []int
	resp       llm.Response
	text       replyText // resp.Text, set as the stream ends
}

// appendError gives a stream that broke mid-way an error event in OpenAI's format; no [DONE]
// follows it, so no client mistakes a cut answer for a whole one.
func (r *streamRelay) appendError(err error) {
	r.out = openai.EncodeStreamError(r.out, streamErrorEvent(err))
}

// nextRaw relays one event of an OpenAI-format stream as it came, reading its usage, and
// drops the extra usage chunk when the client did not ask for it.
func (r *streamRelay) nextRaw() {
	ev, err := r.nextSSE()
	if err != nil {
		r.fail(err)
		return
	}
	data := ev.Data
	if bytes.Equal(data, []byte("[DONE]")) {
		r.out = append(r.out, sseDone...)
		r.end(nil)
		return
	}
	if err := r.checkJSON(data); err != nil {
		r.fail(err)
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

func (r *streamRelay) finish() { r.out = r.enc.Finish(r.out) }

// encode encodes one canonical event of a translated stream as OpenAI chunks, assembling the
// reply for spans as it goes.
func (r *streamRelay) encode(ev llm.StreamEvent) {
	resp := &r.resp
	switch ev.Type {
	case llm.EventStart:
		if ev.ID == "" {
			ev.ID = r.fallbackID
		}
		resp.ID, resp.Model = ev.ID, ev.Model
	case llm.EventText:
		r.text.add(ev.Text)
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

func (r *streamRelay) reply(error) *llm.Response {
	resp := &r.resp
	resp.Text = r.text.take()
	for _, i := range r.order {
		resp.ToolCalls = append(resp.ToolCalls, *r.calls[i])
	}
	return resp
}
