package proxy

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/responses"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
)

// startResponsesStream opens the upstream stream and, once it is open, makes the relay the
// response body. Failures before the first byte get a normal error reply.
func (s *Server) startResponsesStream(ctx *fasthttp.RequestCtx, rt *Runtime, rd responsesDispatcher, run *spans.Run, runCtx context.Context, call *responsesCall) {
	streamCtx, cancel := context.WithCancel(runCtx)
	fs, err := rd.ForwardResponsesStream(streamCtx, call.model, call.body, call.decode, s.attemptObserver(run, nil))
	if err != nil {
		cancel()
		c := writeOpenAIError(ctx, err)
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("responses", call.model, run, c, call.start)
		s.obs.RequestDone(metrics.RequestSummary{Route: metrics.RouteResponses, Stream: true, Status: c.Status, Code: c.Code, Duration: time.Since(call.start)})
		return
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	call.body, call.decode = nil, nil
	r := &responsesRelay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, call: call}
	if fs.Raw != nil {
		r.sse = sse.NewReader(fs.Raw)
	} else {
		r.enc = responses.NewStreamEncoder(*call.meta(fs.Target))
	}
	r.watch = watchDisconnect(ctx.Conn(), cancel)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	s.streamBody(ctx, r)
}

// responsesRelay is the body of a streamed Responses reply, read by fasthttp from the
// connection's goroutine as the chat relay is (chat_stream.go): passed-through events are
// copied as they came, translated ones encoded as Responses events.
type responsesRelay struct {
	s      *Server
	rt     *Runtime
	run    *spans.Run
	fs     *provider.ForwardedStream
	cancel context.CancelFunc
	call   *responsesCall
	watch  *disconnectWatch

	sse    *sse.Reader // passed-through Responses stream
	events int64       // events relayed, the next sequence_number of a passed-through stream
	resp   llm.Response

	enc *responses.StreamEncoder // translated stream

	out      []byte
	off      int
	err      error
	ended    bool
	sentSome bool
	closed   bool
}

// Read hands fasthttp the next encoded events, reading the upstream as needed.
func (r *responsesRelay) Read(p []byte) (int, error) {
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

func (r *responsesRelay) end(err error) { r.ended, r.err = true, err }

// nextRaw relays one event of a passed-through stream, reading id, model and usage from the
// few events that carry them.
func (r *responsesRelay) nextRaw() {
	ev, err := r.sse.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = llm.ErrStreamTruncated
		}
		r.out = r.appendStreamError(r.out, err)
		r.end(err)
		return
	}
	if len(ev.Name) > 0 {
		r.out = append(append(append(r.out, "event: "...), ev.Name...), '\n')
	}
	r.out = append(append(append(r.out, dataPrefix...), ev.Data...), frameEnd...)
	r.events++
	sc := responses.ScanEvent(ev.Name, ev.Data)
	if sc.ID != "" && r.resp.ID == "" {
		r.resp.ID = sc.ID
		r.s.rememberOwner(sc.ID, r.fs.Target)
	}
	if sc.Model != "" {
		r.resp.Model = sc.Model
	}
	if !sc.Terminal {
		return
	}
	r.resp.Usage, r.resp.FinishReason = sc.Usage, sc.Finish
	if sc.Err != nil {
		sc.Err.Provider = r.fs.Target.Backend.Name
		r.end(sc.Err)
		return
	}
	r.end(nil)
}

// appendStreamError ends a passed-through stream that broke with an error event, so the
// client does not take it for a clean end. It has the documented top-level code and message,
// and the nested error object that the OpenAI SDKs check every event for.
func (r *responsesRelay) appendStreamError(dst []byte, err error) []byte {
	c := classify(err)
	_, typ, code := openAIErrorFields(c)
	if code == "" {
		code = typ
	}
	dst = append(dst, "event: error\ndata: {\"type\":\"error\",\"sequence_number\":"...)
	dst = jsonw.Int(dst, r.events)
	dst = append(dst, `,"code":`...)
	dst = jsonw.String(dst, code)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, c.Message)
	dst = append(dst, `,"param":null,"error":{"type":`...)
	dst = jsonw.String(dst, typ)
	dst = append(dst, `,"code":`...)
	dst = jsonw.String(dst, code)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, c.Message)
	return append(dst, ",\"param\":null}}\n\n"...)
}

// nextEvent encodes one canonical event of a translated stream.
func (r *responsesRelay) nextEvent() {
	ev, err := r.fs.Events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			r.out = r.enc.Finish(r.out)
			r.end(nil)
			return
		}
		var ue *llm.UpstreamError
		if !errors.As(err, &ue) {
			c := classify(err)
			_, typ, code := openAIErrorFields(c)
			ue = &llm.UpstreamError{Type: typ, Code: code, Message: c.Message}
		}
		r.out = r.enc.Fail(r.out, ue)
		r.end(err)
		return
	}
	r.out = r.enc.Encode(r.out, ev)
}

// Close is part of io.Closer for fasthttp; the work is in CloseWithError.
func (r *responsesRelay) Close() error { return nil }

// CloseWithError ends the stream: it stops the upstream, ends the spans, prices the reply,
// remembers it, logs and reports. writeErr is fasthttp's error writing to the client.
func (r *responsesRelay) CloseWithError(writeErr error) error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.watch.stop()
	if r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone() {
		t := time.AfterFunc(drainTimeout, r.cancel)
		r.fs.Close()
		t.Stop()
		r.cancel()
	} else {
		r.cancel()
		r.fs.Close()
	}
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
	}
	err := r.err
	if writeErr != nil || r.watch.clientGone() || !r.ended {
		err = context.Canceled
	}
	resp := &r.resp
	if r.enc != nil {
		resp = r.enc.Response()
		if err == nil {
			r.s.rememberConversation(r.call, resp)
		}
	}
	if resp.Model == "" {
		resp.Model = r.fs.Target.Model
	}
	r.fs.Finish(resp, err)
	s, call := r.s, r.call
	cost, priced := priceFor(r.rt, r.fs.Target, resp)
	sum := metrics.RequestSummary{Route: metrics.RouteResponses, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(call.start),
		Provider: r.fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if err != nil {
		c := classify(err)
		sum.Code = c.Code
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced, Err: err, ErrorType: c.Code})
		s.logFailure("responses stream", call.model, r.run, c, call.start)
	} else {
		r.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
		s.logSuccess("responses stream", r.fs.Target.Backend.Name, resp, r.run, cost, priced, call.start)
	}
	s.obs.RequestDone(sum)
	return nil
}
