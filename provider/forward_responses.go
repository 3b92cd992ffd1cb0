package provider

import (
	"context"
	"errors"
	"net/url"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/responses"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fastjson"
)

// OpenAI Responses bodies (POST /v1/responses) are forwarded like Chat Completions bodies:
// passed through to OpenAI-format backends that have the Responses API (wire_api responses),
// decoded and translated for the others (Anthropic, Gemini, and OpenAI-compatible servers with
// wire_api chat, which get a Chat Completions request). The decoder the caller passes turns the
// body into the canonical request; the caller re-encodes a translated reply as a Response.

var responsesPassthrough = &passthrough{
	accepts: func(b *Backend) bool { return b.servesResponses },
	path:    func(t Target, _ bool) string { return t.Backend.responsesURI("", "") },
	scan:    scanResponsesReply,
}

// ServesResponses reports whether the backend takes Responses bodies as they are.
func (b *Backend) ServesResponses() bool { return b.servesResponses }

// ForwardResponses sends a Responses body for model. A passed-through reply's Response has
// its id, model, usage and finish reason filled in.
func (d *Dispatcher) ForwardResponses(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*Forwarded, error) {
	return d.forward(ctx, responsesPassthrough, model, body, decode, observe)
}

// ForwardResponsesStream opens a stream for a Responses body with "stream": true: Raw is the
// provider's Responses SSE when passed through, else Events.
func (d *Dispatcher) ForwardResponsesStream(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*ForwardedStream, error) {
	return d.forwardStream(ctx, responsesPassthrough, model, body, decode, observe)
}

func scanResponsesReply(dst *llm.Response, raw []byte, requested string) error {
	if err := fastjson.ValidateBytes(raw); err != nil {
		return err
	}
	s, _ := responses.ScanReply(raw)
	*dst = llm.Response{ID: s.ID, Model: s.Model, Usage: s.Usage, FinishReason: s.Finish}
	if dst.Model == "" {
		dst.Model = requested
	}
	return nil
}

// ErrNoResponsesStore is returned for a stored response that no configured provider keeps.
var ErrNoResponsesStore = errors.New("no provider stores responses")

// StoredResponse is the provider's answer to a request about a stored response, passed back
// as it came (status and body), errors included. A 2xx body that is not JSON is not passed
// back: it is the provider's failure (ErrMalformedReply), as on every other route.
type StoredResponse struct {
	Provider string
	Status   int
	Body     []byte
}

// StoredResponse sends GET or DELETE /responses/{id} (with the caller's query) to the backend
// named providerName, or when that names none that serves Responses, to the first configured
// backend that does. Only a failure to reach the provider, or a 2xx reply that is not JSON, is
// an error.
func (d *Dispatcher) StoredResponse(ctx context.Context, method, id, rawQuery, providerName string) (*StoredResponse, error) {
	b, ok := d.router.Backend(providerName)
	if !ok || !b.servesResponses {
		b = nil
		for _, c := range d.router.Backends() {
			if c.servesResponses && c.Configured() {
				b = c
				break
			}
		}
	}
	if b == nil {
		return nil, ErrNoResponsesStore
	}
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	path := b.responsesURI("/"+url.PathEscape(id), rawQuery)
	x, err := b.send(ctx, method, path, nil, nil, false)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	reply := bytebufferpool.Get()
	defer bytebufferpool.Put(reply)
	if err := x.readAll(reply, b.MaxResponseBytes); err != nil {
		return nil, err
	}
	if x.resp.StatusCode < 300 {
		if err := validJSON(b.Name, reply.B); err != nil {
			return nil, err
		}
	}
	return &StoredResponse{Provider: b.Name, Status: x.resp.StatusCode, Body: append([]byte(nil), reply.B...)}, nil
}
