package proxy

import (
	"context"
	"strings"
	"sync"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/valyala/fasthttp"
)

// The Anthropic Messages endpoint (DESIGN.md 4a): POST /v1/messages and
// /v1/messages/count_tokens in Anthropic's wire format, for Claude Code and the Anthropic SDKs.
// Anthropic targets get the body passed through; others are translated both ways.

var (
	pathMessages    = []byte("/v1/messages")
	pathCountTokens = []byte("/v1/messages/count_tokens")
)

// messagesHeaders reads the caller's Anthropic headers, copied: they outlive the request.
func messagesHeaders(ctx *fasthttp.RequestCtx) provider.MessagesHeaders {
	return provider.MessagesHeaders{
		Version: string(ctx.Request.Header.Peek("anthropic-version")),
		Beta:    string(ctx.Request.Header.Peek("anthropic-beta")),
	}
}

// messageID is the id of a translated reply: msg_ and the run's span id, so a reply can be
// found in the traces by its id.
func messageID(run *spans.Run) string {
	return "msg_" + strings.TrimPrefix(run.SpanID(), "sp_")
}

// readMessages authorises the caller and reads the Messages body and what routing needs of it.
func (s *Server) readMessages(ctx *fasthttp.RequestCtx, rt *Runtime) ([]byte, anthropic.MessagesRequestInfo, error) {
	if !authorized(ctx, rt.AuthKeys) {
		return nil, anthropic.MessagesRequestInfo{}, errUnauthorized
	}
	body, err := requestBody(ctx, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, anthropic.MessagesRequestInfo{}, err
	}
	info, err := anthropic.ScanMessagesRequest(body)
	return body, info, err
}

// handleMessages serves POST /v1/messages.
func (s *Server) handleMessages(ctx *fasthttp.RequestCtx) {
	rq := startRequest(metrics.RouteMessages)
	streaming := false
	defer func() { s.requestDone(ctx, &rq, streaming) }()
	start, sum, over := rq.start, &rq.sum, rq.over
	rt := s.runtime.Load()
	body, info, err := s.readMessages(ctx, rt)
	if err != nil {
		sum.Code = writeAnthropicError(ctx, err).Code
		return
	}
	sum.Stream = info.Stream
	user := string(ctx.Request.Header.Peek(headerUserID))
	if user == "" {
		user = info.UserID
	}
	session := string(ctx.Request.Header.Peek(headerSessionID))
	if session == "" {
		session = info.SessionID
	}
	runCtx, run, err := s.spans.StartRun(context.Background(), spans.RunStart{
		Traceparent: string(ctx.Request.Header.Peek("traceparent")),
		Model:       info.Model,
		Tags:        splitTags(ctx.Request.Header.Peek(headerTags)),
		UserID:      user,
		SessionID:   session,
	})
	if err != nil {
		sum.Code = writeAnthropicError(ctx, err).Code
		return
	}
	ctx.Response.Header.Set("traceparent", run.Traceparent())
	ctx.Response.Header.Set(headerSpanID, run.SpanID())
	hdr := messagesHeaders(ctx)
	if info.Stream {
		streaming = true // the stream reports when it ends
		decode := provider.OnceMessagesDecoder(body, false)
		s.startMessagesStream(ctx, rt, run, runCtx, messagesStream{model: info.Model, body: body, hdr: hdr, decode: decode, start: start, over: over})
		return
	}
	// The call's attempts end before ForwardMessages returns: its decoder and attempt
	// observer are reused from call to call, as the OpenAI surface's are.
	scratch := callScratches.Get().(*callScratch)
	defer func() {
		scratch.release()
		callScratches.Put(scratch)
	}()
	callCtx := watchClient(ctx, runCtx)
	fw, err := rt.Dispatcher.ForwardMessages(callCtx, info.Model, body, hdr,
		scratch.decoder.DecoderFor(body, decodeMessagesBody), scratch.attempts.observer(s, run, nil, over))
	callCtx.stop()
	if err != nil {
		c := writeAnthropicError(ctx, err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("messages", info.Model, run, c, start)
		return
	}
	resp := fw.Response
	cost, priced := priceFor(rt, fw.Target, resp)
	run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
	writeCostedReply(ctx, cost, fw.Raw, fw.Headers, func(dst []byte) []byte {
		return anthropic.EncodeMessage(dst, resp, messageID(run), fw.Target.Model)
	})
	sum.Provider, sum.Model, sum.Usage, sum.Cost, sum.Priced = fw.Target.Backend.Name, resp.Model, resp.Usage, cost, priced
	s.logSuccess("messages", fw.Target.Backend.Name, resp, run, cost, priced, start)
	fw.Release() // written, priced, on the spans and logged: nothing reads it any more
}

// decodeMessagesBody decodes a Messages body for a target that needs it translated.
func decodeMessagesBody(body []byte) (*llm.Request, error) {
	return anthropic.DecodeMessagesRequest(body, false)
}

// callScratches pools the scratch of calls that are not on the OpenAI surface's pooled path.
var callScratches = sync.Pool{New: func() any { return new(callScratch) }}

// handleCountTokens serves POST /v1/messages/count_tokens: Anthropic counts, Gemini counts
// through countTokens, other formats get a clear error. It is not a model call, so it makes
// no spans and costs nothing.
func (s *Server) handleCountTokens(ctx *fasthttp.RequestCtx) {
	rq := startRequest(metrics.RouteMessages)
	defer s.requestDone(ctx, &rq, false)
	sum, over := &rq.sum, rq.over
	rt := s.runtime.Load()
	body, info, err := s.readMessages(ctx, rt)
	if err != nil {
		sum.Code = writeAnthropicError(ctx, err).Code
		return
	}
	callCtx := watchClient(ctx, context.Background())
	over.attemptStarted()
	tc, err := rt.Dispatcher.CountMessageTokens(callCtx, info.Model, body, messagesHeaders(ctx), provider.OnceMessagesDecoder(body, true))
	over.attemptEnded()
	callCtx.stop()
	if err != nil {
		sum.Code = writeAnthropicError(ctx, err).Code
		return
	}
	sum.Provider = tc.Target.Backend.Name
	ctx.SetContentType("application/json")
	if tc.Raw != nil {
		ctx.Response.SetBodyRaw(tc.Raw)
		return
	}
	ctx.Response.SetBodyRaw(anthropic.AppendCountTokens(nil, tc.InputTokens))
}
