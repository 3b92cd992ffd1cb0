package proxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// handleRun serves POST /api/v1/prompts/{slug}/run.
func (s *Server) handleRun(ctx *fasthttp.RequestCtx, slug string) {
	rq := startRequest(metrics.RouteRun)
	defer s.requestDone(ctx, &rq, false)
	start, sum, over := rq.start, &rq.sum, rq.over
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		sum.Code = writeRunError(ctx, errUnauthorized).Code
		return
	}
	req, err := decodeRunRequest(ctx.PostBody())
	if err != nil {
		sum.Code = writeRunError(ctx, err).Code
		return
	}
	runCtx, run, err := s.spans.StartRun(context.Background(), spans.RunStart{
		TraceID:      req.TraceID,
		ParentSpanID: req.ParentSpanID,
		Traceparent:  string(ctx.Request.Header.Peek("traceparent")),
		Slug:         slug,
		Version:      req.Version,
		Model:        req.Model,
		Tags:         req.Tags,
		UserID:       req.UserID,
		SessionID:    req.SessionID,
		Variables:    req.Variables,
	})
	if err != nil {
		sum.Code = writeRunError(ctx, err).Code
		return
	}
	ctx.Response.Header.Set("traceparent", run.Traceparent())

	callCtx := watchClient(ctx, runCtx)
	out, stale, err := s.run(callCtx, rt, run, slug, req, string(callerKey(ctx)), over)
	callCtx.stop()
	end := spans.RunEnd{StaleTemplate: stale}
	sum.StaleTemplate = stale
	if err != nil {
		c := writeRunError(ctx, err)
		sum.Code = c.Code
		end.Err, end.ErrorType = err, c.Code
		run.End(end)
		s.log.LogAttrs(context.Background(), slog.LevelWarn, "run failed",
			slog.String("slug", slug), slog.String("trace_id", run.TraceID()), slog.String("span_id", run.SpanID()),
			slog.Int("status", c.Status), slog.String("code", c.Code), slog.String("error", c.Message),
			slog.Duration("latency", time.Since(start)))
		return
	}
	out.LatencyMs = time.Since(start).Milliseconds()
	end.Response, end.Cost, end.Priced = out.Response, out.Cost, out.priced
	run.End(end)

	buf := bytebufferpool.Get()
	buf.B = out.appendJSON(buf.B[:0])
	ctx.SetContentType("application/json")
	ctx.Response.SetBody(buf.B)
	bytebufferpool.Put(buf)

	u := out.Response.Usage
	sum.Provider, sum.Model, sum.Usage, sum.Cost, sum.Priced = out.provider, out.Response.Model, u, out.Cost, out.priced
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "run",
		slog.String("slug", slug), slog.Int("version", out.PromptVersion),
		slog.String("trace_id", run.TraceID()), slog.String("span_id", run.SpanID()),
		slog.String("model", out.Response.Model), slog.String("provider", out.provider),
		slog.Int("status", fasthttp.StatusOK), slog.Int64("latency_ms", out.LatencyMs),
		slog.Int64("input_tokens", u.InputTokens), slog.Int64("output_tokens", u.OutputTokens),
		slog.Float64("cost_usd", out.Cost), slog.Bool("priced", out.priced))
}

// runOutcome is a successful run, ready to encode.
type runOutcome struct {
	runResult
	priced   bool
	provider string
}

// run resolves the prompt, builds the request, calls the provider and prices the reply.
func (s *Server) run(ctx context.Context, rt *Runtime, run *spans.Run, slug string, req *runRequest, callerKey string, over *overheadClock) (runOutcome, bool, error) {
	res, err := s.prompts.Resolve(ctx, slug, req.Version, callerKey)
	if err != nil {
		return runOutcome{}, false, err
	}
	v := res.Version
	creq, err := buildRequest(v, req)
	if err != nil {
		return runOutcome{}, res.Stale, err
	}
	model := req.Model
	if model == "" {
		model = v.Model
	}
	// Named as the first target will most often name it: then neither the attempt's span nor
	// the provider call copies the request to rename it.
	creq.Model = model
	run.SetPromptVersion(v.Version)
	run.SetModel(model)
	run.SetInput(creq.Messages)
	rec := attemptRecorders.Get().(*attemptRecorder)
	result, err := rt.Dispatcher.Complete(ctx, model, creq, rec.observer(s, run, creq, over))
	rec.release() // Complete has ended every attempt
	attemptRecorders.Put(rec)
	if err != nil {
		return runOutcome{}, res.Stale, err
	}
	resp := result.Response
	cost, priced := priceFor(rt, result.Target, resp)
	out := runOutcome{priced: priced, provider: result.Target.Backend.Name}
	out.Response = resp
	out.SpanID, out.TraceID = run.SpanID(), run.TraceID()
	out.PromptVersion = v.Version
	out.Cost = cost
	if v.ResponseFormat != nil && resp.HasText {
		out.StructuredOutput = jsonObjectOrNil(resp.Text)
	}
	out.Sent = creq.Messages
	return out, res.Stale, nil
}

// attemptObserver turns provider attempts into attempt spans and attempt metrics.
// Each attempt is timed on over (nil for none): a call's attempts run on the request's
// goroutine, and a stream's end (reported with its reply, never nil) comes after the stream
// was counted up to its opening, so only a stream that failed to open is counted here.
func (s *Server) attemptObserver(run *spans.Run, req *llm.Request, over *overheadClock) provider.AttemptObserver {
	return new(attemptRecorder).observer(s, run, req, over)
}

// attemptRecorder is attemptObserver's state, reusable for the next request once the last
// attempt has ended: a non-streaming call keeps one in its pooled openAICall and observes
// its attempts without allocating. Attempts are sequential: each ends before the next one
// starts, and a stream's attempt when the stream ends.
type attemptRecorder struct {
	s     *Server
	run   *spans.Run
	req   *llm.Request
	over  *overheadClock
	a     provider.Attempt
	att   *spans.Attempt
	began time.Time
	// observe and end as func values, made once
	observeFn provider.AttemptObserver
	endFn     func(*llm.Response, error)
}

// observer readies r for a request's attempts and returns its observer.
func (r *attemptRecorder) observer(s *Server, run *spans.Run, req *llm.Request, over *overheadClock) provider.AttemptObserver {
	r.s, r.run, r.req, r.over = s, run, req, over
	if r.observeFn == nil {
		r.observeFn, r.endFn = r.observe, r.end
	}
	return r.observeFn
}

func (r *attemptRecorder) observe(a provider.Attempt) func(*llm.Response, error) {
	start := spans.AttemptStart{
		ProviderName:  a.Target.Backend.Name,
		ProviderKind:  a.Target.Backend.Kind,
		Model:         a.Target.Model,
		ServerAddress: a.Target.Backend.Host,
		ServerPort:    a.Target.Backend.Port,
		Stream:        a.Stream,
		Operation:     a.Operation,
	}
	switch req := r.req; {
	case req == nil: // a passed-through body, which is not decoded
	case req.Model == a.Target.Model && req.Stream == a.Stream:
		start.Request = req // what is sent: no copy (StartAttempt reads it and keeps nothing)
	default:
		sent := *req
		sent.Model = a.Target.Model
		sent.Stream = a.Stream
		start.Request = &sent
	}
	r.a = a
	r.att = r.run.StartAttempt(start)
	r.began = time.Now()
	r.over.attemptStarted()
	return r.endFn
}

func (r *attemptRecorder) end(resp *llm.Response, err error) {
	a := r.a
	if !a.Stream || resp == nil {
		r.over.attemptEnded()
	}
	r.att.End(resp, err)
	r.s.obs.AttemptDone(attemptSummary(a, time.Since(r.began), err))
}

// attemptRecorders pools the recorders of calls that end their attempts before returning.
var attemptRecorders = sync.Pool{New: func() any { return new(attemptRecorder) }}

// release drops what r refers to, so that a pooled r pins nothing of its last request.
func (r *attemptRecorder) release() {
	r.s, r.run, r.req, r.over, r.a, r.att = nil, nil, nil, nil, provider.Attempt{}, nil
}

// attemptSummary describes an attempt's outcome for metrics.
func attemptSummary(a provider.Attempt, d time.Duration, err error) metrics.AttemptSummary {
	sum := metrics.AttemptSummary{Provider: a.Target.Backend.Name, Model: a.Target.Model, Duration: d, Status: fasthttp.StatusOK}
	if err != nil {
		c := classify(err)
		sum.Status, sum.ErrType = 0, c.Code
		if c.Upstream != nil {
			sum.Status = c.Upstream.Status
		}
	}
	return sum
}

// buildRequest turns a prompt version and the run request into a canonical request.
func buildRequest(v *registry.Version, req *runRequest) (*llm.Request, error) {
	creq := &llm.Request{
		Temperature: v.Temperature,
		TopP:        v.TopP,
		MaxTokens:   v.MaxOutputTokens,
		Stop:        v.StopSequences,
	}
	if req.HasMessages {
		creq.Messages = req.Messages
	} else {
		msgs, err := registry.Render(v.Messages, req.Variables)
		if err != nil {
			return nil, err
		}
		creq.Messages = msgs
	}
	for _, t := range v.Tools {
		creq.Tools = append(creq.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: json.RawMessage(t.Parameters)})
	}
	if rf := v.ResponseFormat; rf != nil {
		f := &llm.ResponseFormat{Type: llm.FormatJSONObject, Name: rf.Name, Schema: json.RawMessage(rf.Schema)}
		if len(rf.Schema) > 0 {
			f.Type = llm.FormatJSONSchema
			if f.Name == "" {
				f.Name = "response"
			}
		}
		creq.ResponseFormat = f
	}
	return creq, nil
}

// jsonObjectOrNil returns text when it is a JSON object, else nil (structuredOutput: null).
func jsonObjectOrNil(text string) []byte {
	if b := []byte(text); jsonw.IsObject(b) {
		return b
	}
	return nil
}
