package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
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
	fs, err := rt.Dispatcher.ForwardStream(streamCtx, cs.model, upstreamBody, cs.decode, s.attemptObserver(run, nil))
	if err != nil {
		cancel()
		s.streamNotOpened(run, metrics.RouteChat, "chat", cs.model, writeOpenAIError(ctx, err), err, cs.start)
		return
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	cs.body, cs.decode = nil, nil
	r := &streamRelay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, cs: cs}
	if fs.Raw != nil {
		writeUpstreamHeaders(ctx, fs.Headers)
		r.sse = sse.NewReader(fs.Raw)
	} else {
		r.enc = openai.NewChunkEncoder("", "", time.Now().Unix(), cs.includeUsage)
		r.fallbackID = "chatcmpl-" + strings.TrimPrefix(run.SpanID(), "sp_")
	}
	// The relay outlives this handler; it keeps the connection (for the disconnect watch),
	// never ctx.
	r.watch = watchDisconnect(ctx.Conn(), cancel)
	s.sendStream(ctx, r)
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

	relayOut
	resp   llm.Response
	closed bool
}

// Read hands fasthttp the next encoded frames, reading the upstream as needed.
func (r *streamRelay) Read(p []byte) (int, error) { return r.read(p, r.run, r.fill) }

func (r *streamRelay) fill() {
	if r.sse == nil {
		r.nextEvent()
		return
	}
	r.relayRaw(r.sse, r.nextRaw)
}

// nextRaw relays one event of an OpenAI-format stream as it came, reading its usage, and
// drops the extra usage chunk when the client did not ask for it.
func (r *streamRelay) nextRaw() {
	ev, err := r.sse.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = llm.ErrStreamTruncated
		}
		r.end(err)
		return
	}
	data := ev.Data
	if bytes.Equal(data, []byte("[DONE]")) {
		r.out = append(r.out, sseDone...)
		r.end(nil)
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
		var ue *llm.UpstreamError
		if errors.As(err, &ue) {
			r.out = openai.EncodeStreamError(r.out, ue)
		}
		r.end(err)
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
	closeUpstream(r.fs, r.cancel, r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone())
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
	}
	resp := &r.resp
	for _, i := range r.order {
		resp.ToolCalls = append(resp.ToolCalls, *r.calls[i])
	}
	r.s.endStream(r.rt, r.run, r.fs, streamEnd{route: metrics.RouteChat, label: "chat stream", model: r.cs.model,
		start: r.cs.start, resp: resp, err: r.outcome(writeErr, r.watch)})
	return nil
}
