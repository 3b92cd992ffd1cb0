package proxy

import (
	"slices"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/store"
	"github.com/valyala/fasthttp"
)

// wireTime is the ISO 8601 form of createdAt: UTC, milliseconds, like JavaScript's toISOString.
const wireTime = "2006-01-02T15:04:05.000Z"

// writeCreateSpanResult answers POST /api/v1/spans: Python reads id, spanId and traceId, Node
// spanId and cost (a number, 0 when the model is unpriced, as in RunResult).
func writeCreateSpanResult(ctx *fasthttp.RequestCtx, spanID, traceID string, cost float64) {
	b := make([]byte, 0, 128)
	b = append(b, `{"id":`...)
	b = jsonw.String(b, spanID)
	b = append(b, `,"spanId":`...)
	b = jsonw.String(b, spanID)
	b = append(b, `,"traceId":`...)
	b = jsonw.String(b, traceID)
	b = append(b, `,"cost":`...)
	b = jsonw.Float(b, roundUSD(cost))
	b = append(b, '}')
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyRaw(b)
}

// appendSpanCommon writes the fields Span and SpanListItem share, after the opening brace.
func appendSpanCommon(b []byte, r *store.Record) []byte {
	b = append(b, `"id":`...)
	b = jsonw.String(b, r.SpanID)
	b = append(b, `,"spanId":`...)
	b = jsonw.String(b, r.SpanID)
	b = append(b, `,"traceId":`...)
	b = stringOrNull(b, r.TraceID)
	b = append(b, `,"parentSpanId":`...)
	b = stringOrNull(b, r.ParentSpanID)
	b = append(b, `,"promptSlug":`...)
	b = stringOrNull(b, r.PromptSlug)
	b = append(b, `,"model":`...)
	b = jsonw.String(b, r.Model)
	b = append(b, `,"status":`...)
	b = jsonw.String(b, wireStatus(r.Status))
	b = append(b, `,"latencyMs":`...)
	b = jsonw.Int(b, max(r.LatencyMs, 0))
	b = append(b, `,"inputTokens":`...)
	b = jsonw.Int(b, r.InputTokens)
	b = append(b, `,"outputTokens":`...)
	b = jsonw.Int(b, r.OutputTokens)
	b = append(b, `,"totalTokens":`...)
	b = jsonw.Int(b, r.TotalTokens)
	b = append(b, `,"cost":`...)
	if r.Cost == nil {
		b = append(b, "null"...)
	} else {
		b = jsonw.Float(b, roundUSD(*r.Cost))
	}
	b = append(b, `,"createdAt":`...)
	return appendWireTime(b, r.CreatedAt)
}

// appendSpan writes the Span shape of GET /api/v1/spans/{spanId}, with its evaluations.
func appendSpan(b []byte, r *store.Record) []byte {
	b = append(b, '{')
	b = appendSpanCommon(b, r)
	b = append(b, `,"promptVersion":`...)
	if r.PromptVersion > 0 {
		b = jsonw.Int(b, int64(r.PromptVersion))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"provider":`...)
	b = jsonw.String(b, sdkProviderName(r.Provider))
	b = append(b, `,"input":`...)
	if jsonw.IsObject(r.Input) {
		b = append(b, jsonw.TrimSpace(r.Input)...)
	} else {
		b = append(b, "{}"...)
	}
	b = append(b, `,"variables":`...)
	if r.Variables == nil {
		b = append(b, "null"...)
	} else {
		b = appendStringMap(b, r.Variables)
	}
	b = append(b, `,"output":`...)
	b = stringOrNull(b, r.Output)
	b = append(b, `,"error":`...)
	b = stringOrNull(b, r.Error)
	b = append(b, `,"tags":`...)
	b = appendStrings(b, r.Tags)
	b = append(b, `,"userId":`...)
	b = stringOrNull(b, r.UserID)
	b = append(b, `,"sessionId":`...)
	b = stringOrNull(b, r.SessionID)
	b = append(b, `,"evaluations":[`...)
	for i := range r.Evaluations {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEvaluation(b, &r.Evaluations[i])
	}
	return append(b, "]}"...)
}

// appendSpanPage writes ListSpansResult: Python reads cursor, Node nextCursor.
func appendSpanPage(b []byte, p *store.Page) []byte {
	b = append(b, `{"spans":[`...)
	for i := range p.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendSpanCommon(b, &p.Records[i])
		b = append(b, '}')
	}
	b = append(b, `],"cursor":`...)
	b = stringOrNull(b, p.NextCursor)
	b = append(b, `,"nextCursor":`...)
	b = stringOrNull(b, p.NextCursor)
	b = append(b, `,"hasMore":`...)
	b = jsonw.Bool(b, p.HasMore && p.NextCursor != "")
	return append(b, '}')
}

// appendEvaluation writes EvaluateResult.
func appendEvaluation(b []byte, e *store.Evaluation) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.String(b, e.ID)
	b = append(b, `,"spanId":`...)
	b = jsonw.String(b, e.SpanID)
	b = append(b, `,"evaluatorKey":`...)
	b = jsonw.String(b, e.EvaluatorKey)
	b = append(b, `,"evaluatorName":`...)
	name := e.EvaluatorName
	if name == "" {
		name = e.EvaluatorKey
	}
	b = jsonw.String(b, name)
	b = append(b, `,"value":`...)
	b = jsonw.Float(b, e.Value)
	b = append(b, `,"source":`...)
	src := e.Source
	if src == "" {
		src = evaluationSource
	}
	b = jsonw.String(b, src)
	b = append(b, `,"note":`...)
	b = stringOrNull(b, e.Note)
	b = append(b, `,"createdAt":`...)
	b = appendWireTime(b, e.CreatedAt)
	return append(b, '}')
}

// wireStatus keeps status inside the SDKs' Literal even for a record a backend got wrong.
func wireStatus(s string) string {
	if s == store.StatusError {
		return store.StatusError
	}
	return store.StatusSuccess
}

func appendWireTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, wireTime)
	return append(b, '"')
}

func stringOrNull(b []byte, s string) []byte {
	return jsonw.StringOrNull(b, s, s != "")
}

func appendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.String(b, s)
	}
	return append(b, ']')
}

// appendStringMap writes a map with its keys sorted, so a reply is stable.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.String(b, k)
		b = append(b, ':')
		b = jsonw.String(b, m[k])
	}
	return append(b, '}')
}
