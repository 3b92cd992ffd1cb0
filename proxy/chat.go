package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/fasthttp"
)

// Attribution headers of the OpenAI-compatible endpoint.
const (
	headerTags      = "X-Tracegate-Tags"
	headerUserID    = "X-Tracegate-User-Id"
	headerSessionID = "X-Tracegate-Session-Id"
	headerSpanID    = "X-Tracegate-Span-Id"
	headerCost      = "X-Tracegate-Cost-Usd"
)

// handleChat serves POST /v1/chat/completions. OpenAI-format targets get the body passed
// through (only model, stream and stream_options are read, and usage on the way back); other
// targets are translated both ways.
func (s *Server) handleChat(ctx *fasthttp.RequestCtx) {
	s.serveOpenAICall(ctx, metrics.RouteChat, "chat", s.chatCompletion)
}

// chatCompletion serves one POST /v1/chat/completions past its checks.
func (s *Server) chatCompletion(c *openAICall) (streaming bool) {
	if c.stream {
		err := s.startChatStream(c.ctx, c.rt, c.run, c.runCtx, chatStream{
			model: c.model, body: c.body, includeUsage: c.includeUsage, decode: provider.OnceDecoder(c.body), start: c.start,
		}, c.over)
		if err != nil {
			s.failOpenAICall(c, err)
			return false
		}
		return true
	}
	callCtx := watchClient(c.ctx, c.runCtx)
	fw, err := c.rt.Dispatcher.Forward(callCtx, c.model, c.body, c.decoder.Decoder(c.body), c.attempts.observer(s, c.run, nil, c.over))
	callCtx.stop()
	if err != nil {
		s.failOpenAICall(c, err)
		return false
	}
	s.replyOpenAICall(c, fw, encodeChatResponse)
	return false
}

func encodeChatResponse(dst []byte, resp *llm.Response) []byte {
	return openai.EncodeResponse(dst, resp, time.Now().Unix())
}

// priceFor prices a reply: the model that served it first, then the model asked for, then
// LiteLLM's "<provider>/<model>" form for OpenAI-compatible providers (groq/..., mistral/...).
func priceFor(rt *Runtime, t provider.Target, resp *llm.Response) (float64, bool) {
	return priceWith(rt.Prices, t, resp)
}

// priceWith is priceFor with the prices given. A type parameter, not the interface, so that
// the embeddings surface's adapter (embeddingCosts) is passed without being boxed.
func priceWith[P pricer](prices P, t provider.Target, resp *llm.Response) (float64, bool) {
	kind := t.Backend.Kind
	for _, m := range [...]string{resp.Model, t.Model} {
		if m == "" {
			continue
		}
		if c, ok := prices.Cost(kind, m, resp.Usage); ok {
			return c, true
		}
	}
	if kind == provider.KindOpenAI && t.Backend.Name != provider.KindOpenAI {
		return prices.Cost(kind, t.Backend.Name+"/"+t.Model, resp.Usage)
	}
	return 0, false
}

// splitTags parses the comma-separated X-Tracegate-Tags header.
func splitTags(h []byte) []string {
	if len(bytes.TrimSpace(h)) == 0 {
		return nil
	}
	var tags []string
	for _, t := range strings.Split(string(h), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func (s *Server) logSuccess(route, providerName string, resp *llm.Response, run *spans.Run, cost float64, priced bool, start time.Time) {
	u := resp.Usage
	s.log.LogAttrs(context.Background(), slog.LevelInfo, route,
		slog.String("trace_id", run.TraceID()), slog.String("span_id", run.SpanID()),
		slog.String("model", resp.Model), slog.String("provider", providerName),
		slog.Int("status", fasthttp.StatusOK), slog.Int64("latency_ms", time.Since(start).Milliseconds()),
		slog.Int64("input_tokens", u.InputTokens), slog.Int64("output_tokens", u.OutputTokens),
		slog.Float64("cost_usd", roundUSD(cost)), slog.Bool("priced", priced))
}

func (s *Server) logFailure(route, model string, run *spans.Run, c classified, start time.Time) {
	s.log.LogAttrs(context.Background(), slog.LevelWarn, route+" failed",
		slog.String("model", model), slog.String("trace_id", run.TraceID()), slog.String("span_id", run.SpanID()),
		slog.Int("status", c.Status), slog.String("code", c.Code), slog.String("error", c.Message),
		slog.Duration("latency", time.Since(start)))
}

// handleModels serves GET /v1/models: every model named by a prompt file, a fallback list or a
// wildcard-free route, that routes to a provider.
func (s *Server) handleModels(ctx *fasthttp.RequestCtx) {
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		writeOpenAIError(ctx, errUnauthorized)
		return
	}
	router := rt.Dispatcher
	seen := map[string]bool{}
	var ids []string
	add := func(m string) {
		if m != "" && !seen[m] {
			seen[m] = true
			if _, err := router.Resolve(m); err == nil {
				ids = append(ids, m)
			}
		}
	}
	if list, err := s.prompts.List(context.Background(), string(callerKey(ctx))); err == nil {
		for _, p := range list {
			for _, v := range p.Versions {
				add(v.Model)
			}
		}
	}
	for _, m := range router.Models() {
		add(m)
	}
	b := append([]byte(nil), `{"object":"list","data":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		t, _ := router.Resolve(id)
		b = append(b, `{"id":`...)
		b = jsonw.String(b, id)
		b = append(b, `,"object":"model","created":0,"owned_by":`...)
		b = jsonw.String(b, t.Backend.Name)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyRaw(b)
}
