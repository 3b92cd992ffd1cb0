package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// routeSpans is the metrics route of the Tracia spans API.
const routeSpans = "spans"

// evaluationSource is EvaluateResult.source for scores posted through the API.
const evaluationSource = "API"

var (
	pathSpans          = []byte("/api/v1/spans")
	pathSpansPrefix    = []byte("/api/v1/spans/")
	suffixEvaluations  = []byte("/evaluations")
	errSpanStoreAbsent = fmt.Errorf("%w: the span store is not enabled", errRouteNotFound)
)

// spanStore is the span store the spans API reads and writes; store.Store implements it.
// Writes of finished runs go through the Sink adapter, not through here.
type spanStore interface {
	Get(ctx context.Context, spanID string) (*store.Record, error)
	List(ctx context.Context, f store.Filter) (store.Page, error)
	AddEvaluation(ctx context.Context, ev store.Evaluation) error
}

// spanIngester exports SDK spans and evaluations; *spans.Recorder implements it.
type spanIngester interface {
	Ingest(s *spans.IngestedSpan) (spans.Ingested, error)
	RecordEvaluation(e spans.Evaluation) (string, error)
}

// spansAPI is what the spans endpoints need; nil until EnableSpansAPI.
type spansAPI struct {
	store  spanStore
	ingest spanIngester
	// capture is spans.capture_content: ingested content is kept only with it.
	capture bool
}

// EnableSpansAPI serves /api/v1/spans from st, exporting ingested spans and evaluations
// through ing. The records themselves reach st through the Sink that
// NewStoreSink builds, installed on the span recorder.
func (s *Server) EnableSpansAPI(st spanStore, ing spanIngester, captureContent bool) {
	s.spansAPI.Store(&spansAPI{store: st, ingest: ing, capture: captureContent})
}

// handleSpans routes /api/v1/spans and /api/v1/spans/...
func (s *Server) handleSpans(ctx *fasthttp.RequestCtx, path []byte) {
	rq := startRequest(routeSpans) // no provider call: all of its time is tracegate's
	defer s.requestDone(ctx, &rq, false)
	api := s.spansAPI.Load()
	rt := s.runtime.Load()
	var err error
	switch {
	case !authorized(ctx, rt.AuthKeys):
		err = errUnauthorized
	case api == nil:
		err = errSpanStoreAbsent
	case bytes.Equal(path, pathSpans):
		switch {
		case ctx.IsPost():
			err = s.createSpan(ctx, api, rt)
		case ctx.IsGet():
			err = api.listSpans(ctx)
		default:
			err = errMethod
		}
	default:
		rest := path[len(pathSpansPrefix):]
		evaluate := bytes.HasSuffix(rest, suffixEvaluations)
		if evaluate {
			rest = rest[:len(rest)-len(suffixEvaluations)]
		}
		id, ok := unescapeSpanID(rest)
		switch {
		case !ok:
			err = spanNotFound(string(rest))
		case evaluate && ctx.IsPost():
			err = api.evaluate(ctx, id, s.opts.MaxBodyBytes)
		case !evaluate && ctx.IsGet():
			err = api.getSpan(ctx, id)
		default:
			err = errMethod
		}
	}
	if err != nil {
		rq.sum.Code = writeRunError(ctx, err).Code
	}
}

// unescapeSpanID decodes a percent-encoded span id path segment; an id holding a '/' (raw or
// encoded) names no span.
func unescapeSpanID(raw []byte) (string, bool) {
	id := string(raw)
	if bytes.IndexByte(raw, '%') >= 0 {
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return "", false
		}
	}
	return id, id != "" && !strings.Contains(id, "/")
}

func spanNotFound(id string) error {
	return spanLookupError(id, store.ErrNotFound)
}

// spanLookupError names the span in a store error (an unknown span is NOT_FOUND), cut short
// so a hostile path cannot balloon the reply.
func spanLookupError(id string, err error) error {
	if len(id) > 64 {
		return fmt.Errorf("span %q...: %w", id[:64], err)
	}
	return fmt.Errorf("span %q: %w", id, err)
}

// createSpan serves POST /api/v1/spans: a span an SDK recorded itself.
func (s *Server) createSpan(ctx *fasthttp.RequestCtx, api *spansAPI, rt *Runtime) error {
	body, err := requestBody(ctx, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	p, err := decodeSpanPayload(body)
	if err != nil {
		return err
	}
	bg := context.Background()
	// The SDK retries a post whose reply it did not see: a span id already stored is the same
	// span again, answered as before and not exported twice.
	if rec, err := api.store.Get(bg, p.SpanID); err == nil {
		writeCreateSpanResult(ctx, rec.SpanID, rec.TraceID, costOf(rec))
		return nil
	}
	if p.TraceID == "" && p.ParentSpanID != "" {
		// A parent the store knows names its trace.
		if parent, err := api.store.Get(bg, p.ParentSpanID); err == nil {
			p.TraceID = parent.TraceID
		}
	}
	in := p.ingested(api.capture)
	in.Cost, in.Priced = rt.Prices.Cost(in.ProviderKind, in.Model, in.Usage)
	out, err := api.ingest.Ingest(in)
	if err != nil {
		return err
	}
	writeCreateSpanResult(ctx, out.SpanID, out.TraceID, in.Cost)
	s.log.LogAttrs(bg, slog.LevelInfo, "span ingested",
		slog.String("trace_id", out.TraceID), slog.String("span_id", out.SpanID),
		slog.String("model", in.Model), slog.String("provider", p.Provider), slog.Bool("failed", in.Failed),
		slog.Int64("input_tokens", in.Usage.InputTokens), slog.Int64("output_tokens", in.Usage.OutputTokens),
		slog.Float64("cost_usd", roundUSD(in.Cost)), slog.Bool("priced", in.Priced))
	return nil
}

func costOf(rec *store.Record) float64 {
	if rec.Cost == nil {
		return 0
	}
	return *rec.Cost
}

// getSpan serves GET /api/v1/spans/{spanId}.
func (api *spansAPI) getSpan(ctx *fasthttp.RequestCtx, id string) error {
	rec, err := api.store.Get(context.Background(), id)
	if err != nil {
		return spanLookupError(id, err)
	}
	buf := bytebufferpool.Get()
	buf.B = appendSpan(buf.B[:0], rec)
	writeJSONBytes(ctx, buf.B)
	bytebufferpool.Put(buf)
	return nil
}

// listSpans serves GET /api/v1/spans?...
func (api *spansAPI) listSpans(ctx *fasthttp.RequestCtx) error {
	f, err := parseSpanFilter(ctx.QueryArgs())
	if err != nil {
		return err
	}
	page, err := api.store.List(context.Background(), f)
	if errors.Is(err, store.ErrBadCursor) {
		return invalid("cursor %.64q was not issued by this server", f.Cursor)
	}
	if err != nil {
		return err
	}
	buf := bytebufferpool.Get()
	buf.B = appendSpanPage(buf.B[:0], &page)
	writeJSONBytes(ctx, buf.B)
	bytebufferpool.Put(buf)
	return nil
}

// evaluate serves POST /api/v1/spans/{spanId}/evaluations.
func (api *spansAPI) evaluate(ctx *fasthttp.RequestCtx, id string, maxBody int) error {
	raw, err := requestBody(ctx, maxBody)
	if err != nil {
		return err
	}
	body, err := decodeEvaluateBody(raw)
	if err != nil {
		return err
	}
	bg := context.Background()
	rec, err := api.store.Get(bg, id)
	if err != nil {
		return spanLookupError(id, err)
	}
	now := time.Now().UTC()
	evID, err := api.ingest.RecordEvaluation(spans.Evaluation{
		SpanID: rec.SpanID, TraceID: rec.TraceID, Key: body.key, Value: body.value, Note: body.note, At: now,
	})
	if err != nil {
		// A stored span always has wire ids: this is the server's fault, not the caller's, so
		// the error is not wrapped (it would read as INVALID_REQUEST).
		return fmt.Errorf("record evaluation of span %q: %s", id, err.Error())
	}
	ev := store.Evaluation{
		ID: evID, SpanID: rec.SpanID, EvaluatorKey: body.key, EvaluatorName: body.key,
		Value: body.value, Note: body.note, Source: evaluationSource, CreatedAt: now,
	}
	switch err := api.store.AddEvaluation(bg, ev); {
	case errors.Is(err, store.ErrTooManyEvaluations):
		return invalid("span %.64q already has %d evaluations", id, store.MaxEvaluationsPerSpan)
	case errors.Is(err, store.ErrQueueFull), errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%w: %w", errOverloaded, err)
	case err != nil:
		return spanLookupError(id, err)
	}
	buf := bytebufferpool.Get()
	buf.B = appendEvaluation(buf.B[:0], &ev)
	writeJSONBytes(ctx, buf.B)
	bytebufferpool.Put(buf)
	return nil
}

// writeJSONBytes answers with an encoded JSON body, copied (b goes back to its pool).
func writeJSONBytes(ctx *fasthttp.RequestCtx, b []byte) {
	ctx.SetContentType("application/json")
	ctx.Response.SetBody(b)
}
