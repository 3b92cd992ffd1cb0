package proxy

import (
	"context"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/fasthttp"
)

// routeEmbeddings is the metrics route of POST /v1/embeddings.
const routeEmbeddings = "embeddings"

var pathEmbeddings = []byte("/v1/embeddings")

// embedder sends embeddings calls; *provider.Dispatcher implements it.
type embedder interface {
	Embed(ctx context.Context, model string, body []byte, scanned *openai.EmbeddingsBody, observe provider.AttemptObserver) (*provider.Embedded, error)
}

// embeddingPricer prices embeddings calls; *pricing.Table implements it.
type embeddingPricer interface {
	EmbeddingCost(providerKind, model string, u llm.Usage) (float64, bool)
}

var errNoEmbeddings = fmt.Errorf("this gateway's dispatcher serves no embeddings: %w", llm.ErrInvalidRequest)

// handleEmbeddings serves POST /v1/embeddings. OpenAI-format targets get the body passed
// through (model, input's shape, dimensions and encoding_format are read; usage on the way
// back); Gemini targets get it translated to batchEmbedContents and the vectors encoded back
// as floats or base64 as asked.
func (s *Server) handleEmbeddings(ctx *fasthttp.RequestCtx) {
	rq := startRequest(routeEmbeddings)
	defer s.requestDone(ctx, &rq, false)
	start, sum, over := rq.start, &rq.sum, rq.over
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		sum.Code = writeOpenAIError(ctx, errUnauthorized).Code
		return
	}
	emb, ok := rt.Dispatcher.(embedder)
	if !ok {
		sum.Code = writeOpenAIError(ctx, errNoEmbeddings).Code
		return
	}
	body, err := requestBody(ctx, s.opts.MaxBodyBytes)
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	// The call's attempts end before Embed returns: its attempt observer, and the scanned
	// request the dispatcher is handed, are reused, as the other non-streaming surfaces' are.
	scratch := callScratches.Get().(*callScratch)
	defer func() {
		scratch.release()
		callScratches.Put(scratch)
	}()
	req := &scratch.embeddings
	if *req, err = openai.ScanEmbeddingsRequest(body); err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	runCtx, run, err := s.startAttributedRun(ctx, req.Model, spans.OperationEmbeddings)
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}

	callCtx := watchClient(ctx, runCtx)
	e, err := emb.Embed(callCtx, req.Model, body, req, scratch.attempts.observer(s, run, nil, over))
	callCtx.stop()
	if err != nil {
		c := writeOpenAIError(ctx, err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("embeddings", req.Model, run, c, start)
		return
	}
	resp := &scratch.reply
	*resp = llm.Response{Model: e.Response.Model, Usage: e.Response.Usage}
	cost, priced := embeddingPrice(rt, e.Target, resp)
	run.SetEmbeddings(e.Dimensions, e.Response.UsageEstimated)
	run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
	writeCostedReply(ctx, cost, e.Raw, e.Headers, func(dst []byte) []byte {
		return openai.EncodeEmbeddingsResponse(dst, e.Response, req.Base64)
	})
	sum.Provider, sum.Model, sum.Usage, sum.Cost, sum.Priced = e.Target.Backend.Name, resp.Model, resp.Usage, cost, priced
	s.logSuccess("embeddings", e.Target.Backend.Name, resp, run, cost, priced, start)
	e.Release() // written, priced, on the spans and logged: nothing reads it any more
}

// embeddingPrice prices an embeddings reply by priceFor's rules (served model, asked model,
// "<provider>/<model>"), from the table's embedding entries.
func embeddingPrice(rt *Runtime, t provider.Target, resp *llm.Response) (float64, bool) {
	p, ok := rt.Prices.(embeddingPricer)
	if !ok {
		return 0, false
	}
	return priceWith(embeddingCosts{p}, t, resp)
}

// embeddingCosts presents EmbeddingCost as the pricer priceFor asks.
type embeddingCosts struct{ p embeddingPricer }

func (e embeddingCosts) Cost(kind, model string, u llm.Usage) (float64, bool) {
	return e.p.EmbeddingCost(kind, model, u)
}
