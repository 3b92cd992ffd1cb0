package proxy

import (
	"context"
	"sync"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/fasthttp"
)

// What the inference endpoints of the OpenAI surface (chat completions, responses) share:
// checking and reading the request, the run span, and answering a finished call.

// openAICall is one call on the OpenAI surface, past the checks every such call makes.
type openAICall struct {
	ctx     *fasthttp.RequestCtx
	logName string // the call's name in log lines ("chat")
	requestReport
	rt           *Runtime
	body         []byte
	model        string
	stream       bool
	includeUsage bool
	runCtx       context.Context
	run          *spans.Run
	*callScratch
}

// callScratch is what a non-streaming call reuses from one request to the next: its
// decoder and attempt observer (a stream's outlive the call, so a stream makes its own).
type callScratch struct {
	decoder  provider.OnceRequest
	attempts attemptRecorder
	// reply holds what a surface that builds its own llm.Response (embeddings) prices and
	// ends its run with.
	reply llm.Response
	// embeddings is the embeddings surface's scanned request.
	embeddings openai.EmbeddingsBody
	// responses is a non-streaming Responses call's state, responsesDecode its decode as a
	// func value, made once (see responsesCall).
	responses       responsesCall
	responsesDecode provider.RequestDecoder
}

// responsesCall readies the scratch's Responses call with fields and returns it with its
// decoder.
func (s *callScratch) responsesCall(fields responsesCall) (*responsesCall, provider.RequestDecoder) {
	s.responses = fields
	if s.responsesDecode == nil {
		s.responsesDecode = s.responses.decode
	}
	return &s.responses, s.responsesDecode
}

// release drops what the scratch refers to, so that a pooled one pins nothing of its call.
func (s *callScratch) release() {
	s.attempts.release()
	s.decoder.Decoder(nil)
	s.reply, s.embeddings, s.responses = llm.Response{}, openai.EmbeddingsBody{}, responsesCall{}
}

// openAICalls recycles calls: handle is a func value, so a call would otherwise escape to
// the heap on every request.
var openAICalls = sync.Pool{New: func() any { return new(openAICall) }}

// serveOpenAICall checks and reads the request (beginOpenAICall), hands it to handle, and
// reports it to the metrics when it ends, unless handle started a stream (it returns true),
// which reports itself when it ends.
func (s *Server) serveOpenAICall(ctx *fasthttp.RequestCtx, route, logName string, handle func(c *openAICall) (streaming bool)) {
	c := openAICalls.Get().(*openAICall)
	scratch := c.callScratch
	if scratch == nil {
		scratch = new(callScratch)
	}
	*c = openAICall{ctx: ctx, logName: logName, requestReport: startRequest(route), callScratch: scratch}
	streaming := false
	defer func() {
		s.requestDone(ctx, &c.requestReport, streaming)
		scratch.release()
		*c = openAICall{callScratch: scratch} // handle keeps none of it: a stream copies what it needs
		openAICalls.Put(c)
	}()
	if s.beginOpenAICall(c) {
		streaming = handle(c)
	}
}

// beginOpenAICall authorises the caller, reads the body, scans its model and stream flags
// (top-level members both APIs share) and starts the run span. On failure it has answered
// and recorded the code, and returns false.
func (s *Server) beginOpenAICall(c *openAICall) bool {
	c.rt = s.runtime.Load()
	fail := func(err error) bool {
		c.sum.Code = writeOpenAIError(c.ctx, err).Code
		return false
	}
	if !authorized(c.ctx, c.rt.AuthKeys) {
		return fail(errUnauthorized)
	}
	var err error
	if c.body, err = requestBody(c.ctx, s.opts.MaxBodyBytes); err != nil {
		return fail(err)
	}
	if c.model, c.stream, c.includeUsage, err = openai.ScanRequest(c.body); err != nil {
		return fail(err)
	}
	c.sum.Stream = c.stream
	// Named "chat {model}" by the spans package: the GenAI convention's name for chat operations.
	if c.runCtx, c.run, err = s.startAttributedRun(c.ctx, c.model, ""); err != nil {
		return fail(err)
	}
	return true
}

// failOpenAICall answers a call that failed before a reply (or a stream) began, and ends its
// run span.
func (s *Server) failOpenAICall(c *openAICall, err error) {
	cl := writeOpenAIError(c.ctx, err)
	c.sum.Code = cl.Code
	c.run.End(spans.RunEnd{Err: err, ErrorType: cl.Code})
	s.logFailure(c.logName, c.model, c.run, cl, c.start)
}

// replyOpenAICall answers a finished non-streaming call: it prices the reply, ends the run
// span, sets X-Tracegate-Cost-Usd and writes the passed-through body or, for a translated
// reply, what encode makes of it.
func (s *Server) replyOpenAICall(c *openAICall, fw *provider.Forwarded, encode func(dst []byte, resp *llm.Response) []byte) {
	ctx, resp := c.ctx, fw.Response
	cost, priced := priceFor(c.rt, fw.Target, resp)
	c.run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
	writeCostedReply(ctx, cost, fw.Raw, fw.Headers, func(dst []byte) []byte { return encode(dst, resp) })
	sum := &c.sum
	sum.Provider, sum.Model, sum.Usage, sum.Cost, sum.Priced = fw.Target.Backend.Name, resp.Model, resp.Usage, cost, priced
	s.logSuccess(c.logName, fw.Target.Backend.Name, resp, c.run, cost, priced, c.start)
	fw.Release() // written, priced, on the spans and logged: nothing reads it any more
}
