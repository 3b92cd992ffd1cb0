package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/responses"
	"github.com/valyala/fasthttp"
)

// responsesDispatcher is what the Responses endpoint needs of the dispatcher on top of the
// rest; *provider.Dispatcher implements it.
type responsesDispatcher interface {
	ForwardResponses(ctx context.Context, model string, body []byte, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.Forwarded, error)
	ForwardResponsesStream(ctx context.Context, model string, body []byte, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.ForwardedStream, error)
	StoredResponse(ctx context.Context, method, id, rawQuery, providerName string) (*provider.StoredResponse, error)
}

var errNoResponses = fmt.Errorf("%w: this gateway's dispatcher does not serve the Responses API", errRouteNotFound)

// paramError is a caller error that names the request parameter at fault (OpenAI's
// error.param).
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string { return e.msg }
func (e *paramError) Param() string { return e.param }
func (e *paramError) Unwrap() error { return llm.ErrInvalidRequest }

// responsesCall is one POST /v1/responses being served.
type responsesCall struct {
	model string
	body  []byte
	start time.Time
	// spanID is the run span's id, from which a translated reply's id is made.
	spanID string
	s      *Server
	run    *spans.Run
	// decoded is the body decoded for the first target that needed translation (decode), kept
	// for the reply's echo and for the conversation memory; decodeErr is its error.
	decoded   *responses.Request
	decodeErr error
	triedOnce bool
}

// handleResponses serves POST /v1/responses. Targets that speak the Responses API get the
// body passed through (model rewritten only when routing changed it; usage read back from
// the reply or the terminal stream event); other targets are translated both ways.
func (s *Server) handleResponses(ctx *fasthttp.RequestCtx) {
	s.serveOpenAICall(ctx, metrics.RouteResponses, "responses", s.createResponse)
}

// createResponse serves one POST /v1/responses past its checks.
func (s *Server) createResponse(c *openAICall) (streaming bool) {
	rd, ok := c.rt.Dispatcher.(responsesDispatcher)
	if !ok {
		s.failOpenAICall(c, errNoResponses)
		return false
	}
	fields := responsesCall{model: c.model, body: c.body, start: c.start, spanID: c.run.SpanID(), s: s, run: c.run}
	if c.stream {
		call := new(responsesCall) // the stream outlives the request: its own
		*call = fields
		if err := s.startResponsesStream(c.ctx, c.rt, rd, c.run, c.runCtx, call, c.over); err != nil {
			s.failOpenAICall(c, err)
			return false
		}
		return true
	}
	// The call ends before the request does: its state and decoder come from the scratch.
	call, decode := c.responsesCall(fields)
	callCtx := watchClient(c.ctx, c.runCtx)
	fw, err := rd.ForwardResponses(callCtx, c.model, c.body, decode, c.attempts.observer(s, c.run, nil, c.over))
	callCtx.stop()
	if err != nil {
		s.failOpenAICall(c, err)
		return false
	}
	if fw.Raw != nil {
		s.rememberOwner(fw.Response.ID, fw.Target)
	} else {
		fw.Response.ID = call.id()
		s.rememberConversation(call, fw.Response)
	}
	s.replyOpenAICall(c, fw, func(dst []byte, resp *llm.Response) []byte {
		return responses.EncodeResponse(dst, resp, call.meta(fw.Target))
	})
	return false
}

// id is a translated reply's id: the run span's, so that a response and its trace are one
// look-up apart. Passed-through replies keep the provider's.
func (c *responsesCall) id() string { return "resp_" + strings.TrimPrefix(c.spanID, "sp_") }

// meta is what a translated reply's Response object echoes.
func (c *responsesCall) meta(t provider.Target) *responses.Meta {
	return &responses.Meta{ID: c.id(), CreatedAt: c.start.Unix(), Model: t.Model, Request: c.decoded}
}

// decode decodes the body for translated targets, once however many targets ask (the
// dispatcher asks from the request's goroutine only), continuing the conversation of
// previous_response_id from memory, and records the tools it had to drop on the run span.
func (c *responsesCall) decode() (*llm.Request, error) {
	if !c.triedOnce {
		c.triedOnce = true
		c.decoded, c.decodeErr = c.decodeBody()
	}
	if c.decodeErr != nil {
		return nil, c.decodeErr
	}
	return c.decoded.LLM, nil
}

func (c *responsesCall) decodeBody() (*responses.Request, error) {
	r, err := responses.DecodeRequest(c.body)
	if err != nil {
		return nil, err
	}
	if id := r.PreviousResponseID; id != "" {
		prev, ok := c.s.responsesMemory().conversations.get(id)
		if !ok {
			return nil, &paramError{param: "previous_response_id", msg: fmt.Sprintf(
				"previous response %q is not known here: the model is served by a provider without stored responses, and this gateway keeps only its own recent responses; send the whole conversation as input instead", id)}
		}
		r.LLM.Messages = withPrevious(r.LLM.Messages, prev)
	}
	c.run.SetDroppedTools(r.DroppedTools)
	return r, nil
}

// withPrevious puts an earlier conversation before the new input, after this request's own
// instructions (which, as at OpenAI, are not inherited).
func withPrevious(msgs, prev []llm.Message) []llm.Message {
	n := 0
	for n < len(msgs) && msgs[n].Role.IsInstruction() {
		n++
	}
	out := make([]llm.Message, 0, len(msgs)+len(prev))
	out = append(out, msgs[:n]...)
	out = append(out, prev...)
	return append(out, msgs[n:]...)
}

func (s *Server) responsesMemory() *responsesMemory {
	s.respMemOnce.Do(func() { s.respMem = newResponsesMemory() })
	return s.respMem
}

// rememberConversation keeps a translated response's conversation for previous_response_id,
// unless the caller asked not to store it.
func (s *Server) rememberConversation(call *responsesCall, resp *llm.Response) {
	r := call.decoded
	if r == nil || !r.Store {
		return
	}
	msgs := make([]llm.Message, 0, len(r.LLM.Messages)+1)
	for _, m := range r.LLM.Messages {
		if !m.Role.IsInstruction() {
			msgs = append(msgs, m)
		}
	}
	msgs = append(msgs, replyTurn(resp))
	s.responsesMemory().conversations.put(call.id(), msgs, conversationSize(msgs))
}

// replyTurn is the reply as an assistant turn, reasoning included, so a continued
// conversation replays it where the provider needs it (Anthropic's signed thinking).
func replyTurn(resp *llm.Response) llm.Message {
	m := resp.AssistantMessage()
	if len(resp.Reasoning) == 0 {
		return m
	}
	parts := make([]llm.Part, 0, len(resp.Reasoning)+len(m.Parts))
	for i := range resp.Reasoning {
		parts = append(parts, llm.Part{Type: llm.PartReasoning, Reasoning: &resp.Reasoning[i]})
	}
	m.Parts = append(parts, m.Parts...)
	return m
}

// rememberOwner notes which provider a passed-through response came from, for GET and DELETE.
func (s *Server) rememberOwner(id string, t provider.Target) {
	if id != "" {
		s.responsesMemory().owners.put(id, t.Backend.Name, len(id)+len(t.Backend.Name))
	}
}

// maxResponseIDBytes bounds the id in /v1/responses/{id}.
const maxResponseIDBytes = 256

// handleStoredResponse serves GET and DELETE /v1/responses/{id}: passed to the provider that
// stored the response (the one this instance passed it through to, else the first provider
// with the Responses API). A translated response is not stored anywhere but here: DELETE
// forgets it; GET of one is a 404.
func (s *Server) handleStoredResponse(ctx *fasthttp.RequestCtx, id string) {
	rq := startRequest(metrics.RouteResponses)
	defer s.requestDone(ctx, &rq, false)
	sum, over := &rq.sum, rq.over
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		sum.Code = writeOpenAIError(ctx, errUnauthorized).Code
		return
	}
	method := string(ctx.Method())
	if method != fasthttp.MethodGet && method != fasthttp.MethodDelete {
		sum.Code = writeOpenAIError(ctx, errMethod).Code
		return
	}
	if strings.IndexByte(id, '%') >= 0 {
		if unescaped, err := url.PathUnescape(id); err == nil {
			id = unescaped // the provider is sent the id escaped once, as the client meant it
		}
	}
	if id == "" || len(id) > maxResponseIDBytes || strings.ContainsAny(id, "/?#%") {
		sum.Code = writeOpenAIError(ctx, fmt.Errorf("%w: response id %q", errRouteNotFound, id)).Code
		return
	}
	mem := s.responsesMemory()
	if method == fasthttp.MethodDelete && mem.conversations.remove(id) {
		ctx.SetContentType("application/json")
		b := jsonw.String([]byte(`{"id":`), id)
		ctx.Response.SetBodyRaw(append(b, `,"object":"response","deleted":true}`...))
		return
	}
	if _, ok := mem.conversations.get(id); ok {
		sum.Code = writeOpenAIError(ctx, fmt.Errorf("%w: response %q was translated for a provider that stores nothing; only previous_response_id can refer to it", errRouteNotFound, id)).Code
		return
	}
	rd, ok := rt.Dispatcher.(responsesDispatcher)
	if !ok {
		sum.Code = writeOpenAIError(ctx, errNoResponses).Code
		return
	}
	owner, _ := mem.owners.get(id)
	callCtx := watchClient(ctx, context.Background())
	over.attemptStarted()
	sr, err := rd.StoredResponse(callCtx, method, id, string(ctx.URI().QueryString()), owner)
	over.attemptEnded()
	callCtx.stop()
	if errors.Is(err, provider.ErrNoResponsesStore) {
		err = fmt.Errorf("%w: response %q: no provider configured here stores responses", errRouteNotFound, id)
	}
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	if method == fasthttp.MethodDelete && sr.Status < 300 {
		mem.owners.remove(id)
	}
	sum.Provider = sr.Provider
	ctx.SetStatusCode(sr.Status)
	ctx.SetContentType("application/json")
	compressResponse(ctx, sr.Body)
}
