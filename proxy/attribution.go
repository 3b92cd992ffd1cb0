package proxy

import (
	"context"

	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fasthttp"
)

// startAttributedRun starts the run span of an OpenAI-surface call for model (the spans
// package names it "chat {model}" or "embeddings {model}"), attributed and linked by the
// caller's headers (X-Tracegate-Tags, -User-Id, -Session-Id, traceparent), and answers with
// the run's traceparent and X-Tracegate-Span-Id. operation is spans.OperationEmbeddings or ""
// (chat). The error (malformed linking headers) wraps
// llm.ErrInvalidRequest; nothing is written then.
func (s *Server) startAttributedRun(ctx *fasthttp.RequestCtx, model, operation string) (context.Context, *spans.Run, error) {
	runCtx, run, err := s.spans.StartRun(context.Background(), spans.RunStart{
		Operation:   operation,
		Traceparent: string(ctx.Request.Header.Peek("traceparent")),
		Model:       model,
		Tags:        splitTags(ctx.Request.Header.Peek(headerTags)),
		UserID:      string(ctx.Request.Header.Peek(headerUserID)),
		SessionID:   string(ctx.Request.Header.Peek(headerSessionID)),
	})
	if err != nil {
		return nil, nil, err
	}
	ctx.Response.Header.Set("traceparent", run.Traceparent())
	ctx.Response.Header.Set(headerSpanID, run.SpanID())
	return runCtx, run, nil
}
