package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/bytebufferpool"
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
	start := time.Now()
	sum := metrics.RequestSummary{Route: metrics.RouteChat}
	streaming := false
	defer func() {
		if !streaming { // a stream reports when it ends, in its writer
			sum.Status, sum.Duration = ctx.Response.StatusCode(), time.Since(start)
			s.obs.RequestDone(sum)
		}
	}()
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		sum.Code = writeOpenAIError(ctx, errUnauthorized).Code
		return
	}
	body, err := requestBody(ctx, s.opts.MaxBodyBytes)
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	model, stream, includeUsage, err := openai.ScanRequest(body)
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	sum.Stream = stream
	runCtx, run, err := s.spans.StartRun(context.Background(), spans.RunStart{
		Name:        "chat " + model,
		Traceparent: string(ctx.Request.Header.Peek("traceparent")),
		Model:       model,
		Tags:        splitTags(ctx.Request.Header.Peek(headerTags)),
		UserID:      string(ctx.Request.Header.Peek(headerUserID)),
		SessionID:   string(ctx.Request.Header.Peek(headerSessionID)),
	})
	if err != nil {
		sum.Code = writeOpenAIError(ctx, err).Code
		return
	}
	ctx.Response.Header.Set("traceparent", run.Traceparent())
	ctx.Response.Header.Set(headerSpanID, run.SpanID())
	decode := provider.OnceDecoder(body)
	if stream {
		streaming = true // the stream reports when it ends
		s.startChatStream(ctx, rt, run, runCtx, chatStream{
			model: model, body: body, includeUsage: includeUsage, decode: decode, start: start,
		})
		return
	}

	callCtx, stopWatch := watchClient(ctx, runCtx)
	fw, err := rt.Dispatcher.Forward(callCtx, model, body, decode, s.attemptObserver(run, nil))
	stopWatch()
	if err != nil {
		c := writeOpenAIError(ctx, err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("chat", model, run, c, start)
		return
	}
	resp := fw.Response
	cost, priced := priceFor(rt, fw.Target, resp)
	run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
	ctx.Response.Header.Set(headerCost, strconv.FormatFloat(roundUSD(cost), 'f', -1, 64))
	ctx.SetContentType("application/json")
	if fw.Raw != nil {
		compressResponse(ctx, fw.Raw)
	} else {
		buf := bytebufferpool.Get()
		buf.B = openai.EncodeResponse(buf.B[:0], resp, time.Now().Unix())
		compressResponse(ctx, buf.B)
		bytebufferpool.Put(buf)
	}
	sum.Provider, sum.Model, sum.Usage, sum.Cost, sum.Priced = fw.Target.Backend.Name, resp.Model, resp.Usage, cost, priced
	s.logSuccess("chat", fw.Target.Backend.Name, resp, run, cost, priced, start)
}

// priceFor prices a reply: the model that served it first, then the model asked for, then
// LiteLLM's "<provider>/<model>" form for OpenAI-compatible providers (groq/..., mistral/...).
func priceFor(rt *Runtime, t provider.Target, resp *llm.Response) (float64, bool) {
	kind := t.Backend.Kind
	for _, m := range [...]string{resp.Model, t.Model} {
		if m == "" {
			continue
		}
		if c, ok := rt.Prices.Cost(kind, m, resp.Usage); ok {
			return c, true
		}
	}
	if kind == provider.KindOpenAI && t.Backend.Name != provider.KindOpenAI {
		return rt.Prices.Cost(kind, t.Backend.Name+"/"+t.Model, resp.Usage)
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
