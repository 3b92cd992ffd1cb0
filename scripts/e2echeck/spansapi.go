package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ingestedSpan is a span posted to POST /api/v1/spans as the SDKs' run_local does, under a
// run span, with one evaluation; verify expects both in the run's trace.
type ingestedSpan struct {
	Label        string  `json:"label"`
	TraceID      string  `json:"traceId"` // 32 hex
	SpanID       string  `json:"spanId"`  // 16 hex
	ParentSpanID string  `json:"parentSpanId"`
	Model        string  `json:"model"`
	SessionID    string  `json:"sessionId"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	Cost         float64 `json:"cost"`
	// The evaluation's INTERNAL span (16 hex), its evaluator key and score.
	EvalSpanID string  `json:"evalSpanId"`
	EvalKey    string  `json:"evalKey"`
	EvalValue  float64 `json:"evalValue"`
}

// spansAPITraffic runs a prompt, posts a span naming the run as its parent, evaluates that span,
// and reads both back through GET /api/v1/spans.
func (tr *trafficRun) spansAPITraffic(s *suite) {
	session := "sess_spans_" + randomHex(4)
	var run *runSpan
	var ing *ingestedSpan

	s.run("spans API: a run to hang an SDK span under", func(t *test) {
		body := map[string]any{"variables": map[string]string{"name": "Carol", "product": "Tracia"}, "sessionId": session}
		_, rs := tr.run(t, "welcome-email", body)
		t.require(rs.ShortTraceID != "", "the run's trace id is not the 64-bit tr_ form")
		rs.Label, rs.SessionID = "run 3 (parent of an SDK span)", session
		run = tr.add(rs)
	})

	s.run("spans API: POST /api/v1/spans with a run_local payload under the run", func(t *test) {
		t.require(run != nil, "skipped: the run failed")
		spanID := randomHex(8)
		const in, out = 30, 12
		payload := map[string]any{
			"spanId": "sp_" + spanID, "model": tr.st.Model, "provider": "openai",
			"input":  map[string]any{"messages": []map[string]string{{"role": "user", "content": "Local call for the e2e test"}}},
			"output": "Local answer", "status": "SUCCESS", "latencyMs": 42,
			"inputTokens": in, "outputTokens": out, "totalTokens": in + out,
			"sessionId": session, "traceId": "tr_" + run.ShortTraceID, "parentSpanId": "sp_" + run.SpanID, "spanKind": "LLM",
		}
		b, err := json.Marshal(payload)
		t.noErr(err, "encode payload")
		resp, raw := tr.post(t, "/api/v1/spans", nil, b)
		t.require(resp.StatusCode == http.StatusOK, "status %d, body %s", resp.StatusCode, raw)
		var r struct {
			ID, SpanID, TraceID string
			Cost                *float64
		}
		t.noErr(json.Unmarshal(raw, &r), "decode CreateSpanResult "+string(raw))
		t.check(r.ID != "" && r.SpanID == "sp_"+spanID, "id %q spanId %q, want the payload's sp_%s", r.ID, r.SpanID, spanID)
		t.check(r.TraceID == "tr_"+run.ShortTraceID, "traceId %q, want the run's tr_%s", r.TraceID, run.ShortTraceID)
		want := in*tr.st.PriceIn + out*tr.st.PriceOut
		t.require(r.Cost != nil, "cost missing: %s", raw)
		t.check(math64Near(*r.Cost, want), "cost %g, want %g (tokens x the configured prices)", *r.Cost, want)
		ing = &ingestedSpan{Label: "SDK span under run 3", TraceID: run.TraceID, SpanID: spanID, ParentSpanID: run.SpanID,
			Model: tr.st.Model, SessionID: session, InputTokens: in, OutputTokens: out, Cost: want}
	})

	s.run("spans API: POST /api/v1/spans/{spanId}/evaluations scores the SDK span", func(t *test) {
		t.require(ing != nil, "skipped: the span was not ingested")
		resp, raw := tr.post(t, "/api/v1/spans/"+url.PathEscape("sp_"+ing.SpanID)+"/evaluations", nil,
			[]byte(`{"evaluatorKey":"e2e_quality","value":0.8,"note":"end-to-end"}`))
		t.require(resp.StatusCode == http.StatusOK, "status %d, body %s", resp.StatusCode, raw)
		var r struct {
			ID, EvaluatorKey, EvaluatorName, Source, CreatedAt string
			Value                                              *float64
		}
		t.noErr(json.Unmarshal(raw, &r), "decode EvaluateResult "+string(raw))
		t.check(r.EvaluatorKey == "e2e_quality" && r.EvaluatorName != "" && r.Source != "" && r.CreatedAt != "",
			"EvaluateResult %s lacks a required field", raw)
		t.check(r.Value != nil && *r.Value == 0.8, "value %v, want 0.8", r.Value)
		evSpan, ok := strings.CutPrefix(r.ID, "ev_")
		t.require(ok && len(evSpan) == 16, "evaluation id %q, want ev_ + the evaluation span's 16 hex", r.ID)
		ing.EvalSpanID, ing.EvalKey, ing.EvalValue = evSpan, "e2e_quality", 0.8
		tr.st.Ingested = append(tr.st.Ingested, *ing)
	})

	s.run("spans API: GET /api/v1/spans and /api/v1/spans/{spanId} return the run and the SDK span", func(t *test) {
		t.require(ing != nil && ing.EvalSpanID != "", "skipped: the span or its evaluation failed")
		var page struct {
			Spans []struct {
				SpanID, TraceID, ParentSpanID, PromptSlug, Status string
			}
			Cursor     *string
			NextCursor *string
			HasMore    *bool
		}
		raw := tr.get(t, "/api/v1/spans?sessionId="+url.QueryEscape(session), &page)
		t.require(page.HasMore != nil, "hasMore missing: %s", raw)
		var ids []string
		for _, sp := range page.Spans {
			ids = append(ids, sp.SpanID)
		}
		t.require(slices.Equal(ids, []string{"sp_" + ing.SpanID, "sp_" + run.SpanID}), "listed %v, want the SDK span then its run (newest first)", ids)
		t.check(page.Spans[0].ParentSpanID == "sp_"+run.SpanID && page.Spans[0].TraceID == "tr_"+run.ShortTraceID,
			"SDK span listed with parent %q trace %q", page.Spans[0].ParentSpanID, page.Spans[0].TraceID)
		t.check(page.Spans[1].PromptSlug == "welcome-email", "run listed with promptSlug %q", page.Spans[1].PromptSlug)

		var span struct {
			SpanID      string
			Status      string
			Evaluations []struct{ ID, EvaluatorKey string }
		}
		raw = tr.get(t, "/api/v1/spans/"+url.PathEscape("sp_"+ing.SpanID), &span)
		t.check(span.SpanID == "sp_"+ing.SpanID && span.Status == "SUCCESS", "GET span: %s", raw)
		t.check(len(span.Evaluations) == 1 && span.Evaluations[0].ID == "ev_"+ing.EvalSpanID, "GET span evaluations: %s", raw)
	})
}

// get fetches a JSON reply of tracegate into v and returns its body.
func (tr *trafficRun) get(t *test, path string, v any) []byte {
	resp, err := tr.hc.Get(tr.base + path)
	t.noErr(err, "GET "+path)
	defer resp.Body.Close()
	var raw json.RawMessage
	t.noErr(json.NewDecoder(resp.Body).Decode(&raw), "decode GET "+path)
	t.require(resp.StatusCode == http.StatusOK, "GET %s: status %d, body %s", path, resp.StatusCode, raw)
	t.noErr(json.Unmarshal(raw, v), "decode GET "+path+" "+string(raw))
	return raw
}

// ingestedIn lists the ingested spans of a trace.
func ingestedIn(st *state, traceID string) []ingestedSpan {
	var out []ingestedSpan
	for _, s := range st.Ingested {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// isIngested reports whether id is an ingested or evaluation span, which a run span may have
// as children beside its attempt.
func isIngested(st *state, id string) bool {
	return slices.ContainsFunc(st.Ingested, func(s ingestedSpan) bool { return s.SpanID == id || s.EvalSpanID == id })
}

// checkIngested asserts an ingested span and its evaluation in Jaeger.
func checkIngested(t *test, tr *jTrace, s *ingestedSpan) {
	sp := findSpan(tr, s.SpanID)
	t.require(sp != nil, "SDK span %s not in the trace: %s", s.SpanID, spanList(tr))
	t.check(sp.OperationName == "chat "+s.Model, "SDK span name %q, want %q", sp.OperationName, "chat "+s.Model)
	checkTag(t, sp, "span.kind", "client")
	t.check(slices.Equal(sp.parents(), []string{s.ParentSpanID}), "SDK span parents %v, want CHILD_OF the run span %s", sp.parents(), s.ParentSpanID)
	checkNoError(t, sp)
	checkTag(t, sp, "gen_ai.operation.name", "chat")
	checkTag(t, sp, "gen_ai.provider.name", "openai")
	checkTag(t, sp, "gen_ai.request.model", s.Model)
	checkTag(t, sp, "gen_ai.usage.input_tokens", fmt.Sprint(s.InputTokens))
	checkTag(t, sp, "gen_ai.usage.output_tokens", fmt.Sprint(s.OutputTokens))
	checkTag(t, sp, "tracegate.cost.status", "priced")
	checkTag(t, sp, "session.id", s.SessionID)
	checkTag(t, sp, "gen_ai.conversation.id", s.SessionID)
	cost, ok := sp.num("gen_ai.usage.cost")
	t.check(ok && approx(cost, s.Cost), "gen_ai.usage.cost %v (present %v), want %g", cost, ok, s.Cost)
	total, ok := sp.num("llm.cost.total")
	t.check(ok && approx(total, s.Cost), "llm.cost.total %v (present %v), want %g", total, ok, s.Cost)
	for _, tg := range sp.Tags {
		t.check(!strings.HasPrefix(tg.Key, "gen_ai.input.") && !strings.HasPrefix(tg.Key, "gen_ai.output."),
			"content captured with capture_content off: %s", tg.Key)
	}
	t.check(sp.Duration >= 41_000 && sp.Duration <= 43_000, "SDK span lasts %d µs, want its latencyMs 42", sp.Duration)

	ev := findSpan(tr, s.EvalSpanID)
	t.require(ev != nil, "evaluation span %s not in the trace: %s", s.EvalSpanID, spanList(tr))
	t.check(ev.OperationName == "evaluation "+s.EvalKey, "evaluation span name %q", ev.OperationName)
	if kind, ok := ev.str("span.kind"); ok {
		t.check(kind == "internal", "evaluation span.kind %q, want internal", kind)
	}
	t.check(slices.Equal(ev.parents(), []string{s.SpanID}), "evaluation parents %v, want CHILD_OF the SDK span %s", ev.parents(), s.SpanID)
	checkTag(t, ev, "gen_ai.evaluation.name", s.EvalKey)
	score, ok := ev.num("gen_ai.evaluation.score.value")
	t.check(ok && score == s.EvalValue, "gen_ai.evaluation.score.value %v (present %v), want %v", score, ok, s.EvalValue)
	checkTag(t, ev, "gen_ai.evaluation.explanation", "end-to-end")
}
