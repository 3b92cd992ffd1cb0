package proxy

import (
	"context"
	"errors"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/responses"
	"github.com/valyala/fasthttp"
)

// startResponsesStream opens the upstream stream and, once it is open, makes the relay the
// response body. A failure before the first byte is returned, for a normal error reply.
func (s *Server) startResponsesStream(ctx *fasthttp.RequestCtx, rt *Runtime, rd responsesDispatcher, run *spans.Run, runCtx context.Context, call *responsesCall, over *overheadClock) error {
	streamCtx, cancel := context.WithCancel(runCtx)
	watch := watchDisconnect(ctx.Conn(), cancel) // from the start, as for chat streams
	fs, err := rd.ForwardResponsesStream(streamCtx, call.model, call.body, call.decode, s.attemptObserver(run, nil, over))
	over.attemptEnded() // the stream is open: relaying it is tracegate's time
	if err != nil {
		watch.stop()
		cancel()
		return err
	}
	// The body belongs to the request ctx, which the relay outlives: keep none of it.
	call.body = nil
	acct := streamEnd{route: metrics.RouteResponses, label: "responses stream", model: call.model, start: call.start}
	r := &responsesRelay{relay: s.newRelay(rt, run, fs, cancel, watch, acct), call: call}
	r.format = r
	if r.sse == nil {
		r.enc = responses.NewStreamEncoder(*call.meta(fs.Target))
	}
	s.serveRelay(ctx, &r.relay, over)
	return nil
}

// responsesRelay is the body of a streamed Responses reply (see relay): passed-through events
// are copied as they came, translated ones encoded as Responses events.
type responsesRelay struct {
	relay
	call *responsesCall

	events int64 // events relayed, the next sequence_number of a passed-through stream
	resp   llm.Response

	enc *responses.StreamEncoder // translated stream
}

// nextRaw relays one event of a passed-through stream, reading id, model and usage from the
// few events that carry them.
func (r *responsesRelay) nextRaw() {
	ev, ok := r.nextJSON()
	if !ok {
		return
	}
	r.appendEvent(ev)
	r.events++
	sc := responses.ScanEvent(ev.Name, ev.Data)
	if sc.ID != "" && r.resp.ID == "" {
		r.resp.ID = sc.ID
		if sc.Stored {
			r.s.rememberOwner(sc.ID, r.fs.Target)
		}
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

// appendError ends a stream that broke with an error event, so the client does not take it
// for a clean end: a translated one with the encoder's response.failed, a passed-through one
// with an error event. That has the documented top-level code and message, and the nested
// error object that the OpenAI SDKs check every event for.
func (r *responsesRelay) appendError(err error) {
	if r.enc != nil {
		var ue *llm.UpstreamError
		if !errors.As(err, &ue) {
			c := classify(err)
			_, typ, code := openAIErrorFields(c)
			ue = &llm.UpstreamError{Type: typ, Code: code, Message: c.Message}
		}
		r.out = r.enc.Fail(r.out, ue)
		return
	}
	r.out = r.appendStreamError(r.out, err)
}

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

func (r *responsesRelay) encode(ev llm.StreamEvent) { r.out = r.enc.Encode(r.out, ev) }

func (r *responsesRelay) finish() { r.out = r.enc.Finish(r.out) }

// reply remembers a translated reply's conversation when the stream ended cleanly.
func (r *responsesRelay) reply(err error) *llm.Response {
	if r.enc == nil {
		return &r.resp
	}
	resp := r.enc.Response()
	if err == nil {
		r.s.rememberConversation(r.call, resp)
	}
	return resp
}
