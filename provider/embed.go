package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/gemini"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/bytebufferpool"
)

// OperationEmbeddings is Attempt.Operation for embeddings calls (the GenAI operation name).
const OperationEmbeddings = "embeddings"

// openAIEmbeddingsPath is the embeddings endpoint below an OpenAI-format base URL.
const openAIEmbeddingsPath = "/embeddings"

// Embedded is an embeddings reply.
type Embedded struct {
	Target Target
	// Raw is the provider's reply, in OpenAI format, when the body was passed through.
	Raw []byte
	// Headers are the kept reply headers of a passed-through reply (see Forwarded.Headers).
	Headers []ReplyHeader
	// Response is the translated reply; for a passed-through one only Model and Usage are set.
	Response *llm.EmbeddingResponse
	// Dimensions is the length of the vectors returned, 0 when unknown.
	Dimensions int

	reply   *bytebufferpool.ByteBuffer // Raw's pooled storage, for a passed-through reply
	resp    llm.EmbeddingResponse      // Response's storage, for a passed-through reply
	attempt llm.Response               // what the attempt's span ends with
}

// embeddedReplies pools passed-through embeddings replies (see Release): vectors make them
// the largest replies tracegate passes on, which the hot path then does not copy.
var embeddedReplies = sync.Pool{New: func() any { return new(Embedded) }}

// Release hands a passed-through reply's storage back for reuse once Raw has been written and
// Response read; neither may be used afterwards. Releasing is optional and a no-op for a
// translated reply, as for Forwarded.Release.
func (e *Embedded) Release() {
	if e == nil || e.reply == nil {
		return
	}
	bytebufferpool.Put(e.reply)
	*e = Embedded{}
	embeddedReplies.Put(e)
}

// embeddingsAttempts makes the attempts of one Embed call embeddings attempts; a value the
// call keeps on its stack, where a closure wrapping the observer would be allocated.
type embeddingsAttempts struct{ observe AttemptObserver }

func (o *embeddingsAttempts) begin(a Attempt) func(*llm.Response, error) {
	a.Operation = OperationEmbeddings
	return o.observe(a)
}

// lazyEmbeddingRequest decodes the request once, for the first target that needs it decoded
// (Gemini, Vertex, mock); a passthrough never does.
type lazyEmbeddingRequest struct {
	scanned *openai.EmbeddingsBody
	req     *llm.EmbeddingRequest
	err     error
	done    bool
}

func (l *lazyEmbeddingRequest) get() (*llm.EmbeddingRequest, error) {
	if !l.done {
		l.req, l.err = l.scanned.Request()
		l.done = true
	}
	return l.req, l.err
}

// Embed sends an OpenAI embeddings body for model, with the retries and fallbacks of every
// other call. OpenAI-format backends, Azure's included, get the body as it came (model
// rewritten when routing or an Azure deployment changed it); Gemini backends get it
// translated to batchEmbedContents, Vertex AI's Google models to :predict. Anthropic (Claude
// on Vertex too) and Bedrock have no embeddings API tracegate speaks: a model routed there is
// the caller's error, before any attempt.
func (d *Dispatcher) Embed(ctx context.Context, model string, body []byte, scanned *openai.EmbeddingsBody, observe AttemptObserver) (*Embedded, error) {
	if t, err := d.router.Resolve(model); err == nil {
		if err := embeddable(t); err != nil {
			return nil, err
		}
	}
	request := lazyEmbeddingRequest{scanned: scanned}
	attempts := embeddingsAttempts{observe: observe}
	if observe != nil {
		observe = attempts.begin
	}
	var out *Embedded
	err := d.each(ctx, model, false, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		e, err := embedOnce(ctx, t, model, body, scanned.TaskType != "", &request)
		if err != nil {
			end(nil, err)
			return err
		}
		e.attempt = llm.Response{Model: e.Response.Model, Usage: e.Response.Usage}
		end(&e.attempt, nil)
		out = e
		return nil
	})
	return out, err
}

// embeddable says whether t's kind has an embeddings API.
func embeddable(t Target) error {
	switch t.Backend.Kind {
	case KindOpenAI, KindAzure, KindGemini, KindMock:
		return nil
	case KindVertex:
		if t.Backend.embeddingsAt != nil { // the Gemini variant; Claude has none
			return nil
		}
	}
	return fmt.Errorf("model %q routes to provider %q (%s), which has no embeddings API: %w",
		t.Model, t.Backend.Name, t.Backend.Kind, llm.ErrInvalidRequest)
}

func embedOnce(ctx context.Context, t Target, requested string, body []byte, hasTaskType bool, request *lazyEmbeddingRequest) (*Embedded, error) {
	if err := embeddable(t); err != nil {
		return nil, err
	}
	switch t.Backend.Kind {
	case KindOpenAI, KindAzure:
		if hasTaskType { // tracegate's Gemini extension: an OpenAI-format provider never sees it
			body = openai.WithoutTaskType(nil, body)
		}
		return embedPassthrough(ctx, t, withTargetModel(body, requested, t.Backend.wireModel(t.Model)))
	case KindMock:
		req, err := request.get()
		if err != nil {
			return nil, err
		}
		return &Embedded{Target: t, Response: mockEmbed(t.Model, req), Dimensions: mockDimensions(req)}, nil
	}
	req, err := request.get()
	if err != nil {
		return nil, err
	}
	if t.Backend.Kind == KindVertex {
		sent := *req
		sent.Model = t.Model
		return embedVertex(ctx, t, &sent)
	}
	return embedGemini(ctx, t, req)
}

// embedPassthrough posts an OpenAI-format body and keeps the reply in pooled storage.
func embedPassthrough(ctx context.Context, t Target, body []byte) (*Embedded, error) {
	e := embeddedReplies.Get().(*Embedded)
	e.reply = bytebufferpool.Get()
	headers, err := postPooled(ctx, t.Backend, t.Backend.embeddingsPath(t.Model), body, e.reply)
	if err != nil {
		e.Release()
		return nil, err
	}
	r := openai.ScanEmbeddingsReply(e.reply.B) // postPooled checked it is JSON
	if r.Model == "" {
		r.Model = t.Model
	}
	e.Target, e.Raw, e.Headers, e.Dimensions = t, e.reply.B, headers, r.Dimensions
	e.resp = llm.EmbeddingResponse{Model: r.Model, Usage: r.Usage}
	e.Response = &e.resp
	return e, nil
}

func embedGemini(ctx context.Context, t Target, req *llm.EmbeddingRequest) (*Embedded, error) {
	sent := *req
	sent.Model = t.Model
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	var err error
	if buf.B, err = gemini.EncodeEmbedRequest(buf.B[:0], &sent); err != nil {
		return nil, err
	}
	raw, _, err := forwardRaw(ctx, t, gemini.EmbedPath(t.Model), buf.B)
	if err != nil {
		return nil, err
	}
	resp, err := gemini.DecodeEmbedResponse(raw, req.Inputs)
	if err != nil {
		if ue, ok := err.(*llm.UpstreamError); ok {
			ue.Provider = t.Backend.Name
			return nil, t.Backend.redactKeys(ue)
		}
		return nil, badReply(t, err)
	}
	resp.Model = t.Model
	return &Embedded{Target: t, Response: resp, Dimensions: len(resp.Vectors[0])}, nil
}

// badReply is a 2xx reply tracegate cannot read: the provider's fault, reported as a
// provider error (502), not retried.
func badReply(t Target, err error) error {
	return &llm.UpstreamError{Provider: t.Backend.Name, Status: 200, Type: "invalid_reply", Message: err.Error()}
}
