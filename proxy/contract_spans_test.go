package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The spans API's shapes (shared/reference/tracia-wire.md, section Spans), as the Python SDK's
// pydantic models validate them.
var (
	spanStatuses = []string{"SUCCESS", "ERROR"}

	shapeCreateSpanResult = &wireShape{"CreateSpanResult", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "spanId", kind: kString, required: true},
		{name: "traceId", kind: kString, required: true},
		{name: "cost", kind: kNumber, nullable: true}, // Node reads it
	}}
	shapeSpan = &wireShape{"Span", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "spanId", kind: kString, required: true},
		{name: "traceId", kind: kString, nullable: true},
		{name: "parentSpanId", kind: kString, nullable: true},
		{name: "promptSlug", kind: kString, nullable: true},
		{name: "promptVersion", kind: kInt, nullable: true},
		{name: "model", kind: kString, required: true},
		{name: "provider", kind: kString, required: true},
		{name: "input", kind: kObject, required: true},
		{name: "variables", kind: kObject, nullable: true},
		{name: "output", kind: kString, nullable: true},
		{name: "status", kind: kString, required: true, enum: spanStatuses},
		{name: "error", kind: kString, nullable: true},
		{name: "latencyMs", kind: kInt, required: true},
		{name: "inputTokens", kind: kInt, required: true},
		{name: "outputTokens", kind: kInt, required: true},
		{name: "totalTokens", kind: kInt, required: true},
		{name: "cost", kind: kNumber, nullable: true},
		{name: "tags", kind: kArray, elemKind: kindPtr(kString)}, // a list, never null
		{name: "userId", kind: kString, nullable: true},
		{name: "sessionId", kind: kString, nullable: true},
		{name: "createdAt", kind: kDateTime, required: true},
		{name: "evaluations", kind: kArray, elem: shapeEvaluateResult}, // tracegate's addition
	}}
	shapeSpanListItem = &wireShape{"SpanListItem", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "spanId", kind: kString, required: true},
		{name: "traceId", kind: kString, nullable: true},
		{name: "parentSpanId", kind: kString, nullable: true}, // Node reads it
		{name: "promptSlug", kind: kString, nullable: true},
		{name: "model", kind: kString, required: true},
		{name: "status", kind: kString, required: true, enum: spanStatuses},
		{name: "latencyMs", kind: kInt, required: true},
		{name: "inputTokens", kind: kInt, required: true},
		{name: "outputTokens", kind: kInt, required: true},
		{name: "totalTokens", kind: kInt, required: true},
		{name: "cost", kind: kNumber, nullable: true},
		{name: "createdAt", kind: kDateTime, required: true},
	}}
	shapeListSpansResult = &wireShape{"ListSpansResult", []wireField{
		{name: "spans", kind: kArray, required: true, elem: shapeSpanListItem},
		{name: "cursor", kind: kString, nullable: true},
		{name: "nextCursor", kind: kString, nullable: true}, // Node reads it
		{name: "hasMore", kind: kBool, required: true},
	}}
	shapeEvaluateResult = &wireShape{"EvaluateResult", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "evaluatorKey", kind: kString, required: true},
		{name: "evaluatorName", kind: kString, required: true},
		{name: "value", kind: kNumber, required: true},
		{name: "source", kind: kString, required: true},
		{name: "note", kind: kString, nullable: true},
		{name: "createdAt", kind: kDateTime, required: true},
	}}
)

// TestSpansContractCheckerRejects proves the spans shapes fail the replies the Python SDK rejects.
func TestSpansContractCheckerRejects(t *testing.T) {
	rec := &store.Record{SpanID: "sp_0123456789abcdef", TraceID: "tr_0123456789abcdef", Model: "m", Provider: "openai",
		Status: store.StatusSuccess, Tags: []string{"a"}, Evaluations: []store.Evaluation{{ID: "ev_1", EvaluatorKey: "k", Value: 1}}}
	good := string(appendSpan(nil, rec))
	if p := problemsOf(shapeSpan, good); len(p) != 0 {
		t.Fatalf("good Span rejected: %v\n%s", p, good)
	}
	for name, bad := range map[string]string{
		"missing createdAt": strings.Replace(good, `"createdAt":"0001-01-01T00:00:00.000Z",`, "", 1),
		"status enum":       strings.Replace(good, `"status":"SUCCESS"`, `"status":"OK"`, 1),
		"input a string":    strings.Replace(good, `"input":{}`, `"input":"{}"`, 1),
		"null tags":         strings.Replace(good, `"tags":["a"]`, `"tags":null`, 1),
		"float latency":     strings.Replace(good, `"latencyMs":0`, `"latencyMs":0.5`, 1),
		"missing provider":  strings.Replace(good, `"provider":"openai",`, "", 1),
	} {
		if p := problemsOf(shapeSpan, bad); len(p) == 0 {
			t.Errorf("Span %s: accepted", name)
		}
	}
	page := string(appendSpanPage(nil, &store.Page{Records: []store.Record{*rec}, NextCursor: "c", HasMore: true}))
	if p := problemsOf(shapeListSpansResult, page); len(p) != 0 {
		t.Fatalf("good ListSpansResult rejected: %v", p)
	}
	if p := problemsOf(shapeListSpansResult, strings.Replace(page, `"hasMore":true`, `"hasMore":"yes"`, 1)); len(p) == 0 {
		t.Error("ListSpansResult with a string hasMore: accepted")
	}
	if p := problemsOf(shapeListSpansResult, `{"cursor":null,"hasMore":false}`); len(p) == 0 {
		t.Error("ListSpansResult without spans: accepted")
	}
	if p := problemsOf(shapeEvaluateResult, `{"id":"e","evaluatorKey":"k","evaluatorName":"k","value":"1","source":"API","createdAt":"2026-01-01T00:00:00Z"}`); len(p) == 0 {
		t.Error("EvaluateResult with a string value: accepted")
	}
	if p := problemsOf(shapeCreateSpanResult, `{"id":"sp_1","spanId":"sp_1"}`); len(p) == 0 {
		t.Error("CreateSpanResult without traceId: accepted")
	}
}

// spansHarness is the harness with the span store on: a memory store behind the write queue,
// fed by the recorder's sink, as cmd/tracegate wires it.
type spansHarness struct {
	*harness
	queue *store.Queue
	rec   *spans.Recorder
}

func newSpansHarness(t *testing.T, o harnessOptions) *spansHarness {
	t.Helper()
	h := newHarness(t, o)
	rec := h.server.spans.(*spans.Recorder)
	q := store.NewQueue(store.NewMemory(0), 0)
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	rec.SetSink(NewStoreSink(q))
	h.server.EnableSpansAPI(q, rec, false)
	return &spansHarness{harness: h, queue: q, rec: rec}
}

// raw sends a request and returns the status and the body as it came.
func (h *spansHarness) raw(method, path string, body []byte) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// checked sends a request and checks the reply against shape (or the error shape when the
// status is not 200), returning it decoded.
func (h *spansHarness) checked(method, path string, body []byte, wantStatus int, shape *wireShape) map[string]any {
	h.t.Helper()
	status, raw := h.raw(method, path, body)
	if status != wantStatus {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, raw)
	}
	if status != http.StatusOK {
		shape = shapeErrorBody
	}
	checkContract(h.t, shape, raw)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// price is what the price table says, ok false for an unpriced model (the embedded table
// holds chat models only).
func (h *spansHarness) price(kind, model string, in, out int64) (float64, bool) {
	return h.server.runtime.Load().Prices.Cost(kind, model, llm.Usage{InputTokens: in, OutputTokens: out, Known: true})
}

// TestCreateSpanSDKPayloads posts the payloads exactly as the Python and Node SDKs send them and
// reads them back through GET /api/v1/spans/{spanId} and the exported spans.
func TestCreateSpanSDKPayloads(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{})
	cases := []struct {
		fixture, spanID, traceID, parent, name, provider, kind, status string
		priceKind, model                                               string
		in, out                                                        int64
	}{
		{"python_run_local.json", "sp_1a2b3c4d5e6f7a8b", "tr_9a0b1c2d3e4f5a6b", "sp_6f1c0b9a2d4e8f10", "chat gpt-4o-mini", "openai", "openai", "SUCCESS", "openai", "gpt-4o-mini", 120, 85},
		{"python_minimal.json", "sp_0f0e0d0c0b0a0908", "", "", "chat gemini-2.5-flash", "google", "gcp.gemini", "SUCCESS", "gemini", "gemini-2.5-flash", 10, 5},
		{"node_run_local_error.json", "sp_00aa11bb22cc33dd", "tr_0123456789abcdef", "sp_fedcba9876543210", "chat claude-sonnet-4-5", "anthropic", "anthropic", "ERROR", "anthropic", "claude-sonnet-4-5", 0, 0},
		{"node_embedding.json", "sp_e0e1e2e3e4e5e6e7", "", "", "embeddings text-embedding-3-small", "openai", "openai", "SUCCESS", "openai", "text-embedding-3-small", 4, 0},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			h.t = t
			body := fixture(t, "spans/"+c.fixture)
			res := h.checked(http.MethodPost, "/api/v1/spans", body, http.StatusOK, shapeCreateSpanResult)
			if res["spanId"] != c.spanID || res["id"] != c.spanID {
				t.Errorf("reply %v, want the payload's span id %s", res, c.spanID)
			}
			traceID, _ := res["traceId"].(string)
			switch {
			case c.traceID != "" && traceID != c.traceID:
				t.Errorf("traceId %q, want the payload's %s", traceID, c.traceID)
			case c.traceID == "" && !(len(traceID) == 19 && strings.HasPrefix(traceID, "tr_")):
				t.Errorf("traceId %q, want a new tr_ + 16 hex trace", traceID)
			}
			wantCost, priced := h.price(c.priceKind, c.model, c.in, c.out)
			if !priced && !strings.HasPrefix(c.model, "text-embedding") {
				t.Fatalf("%s/%s should be in the price table", c.priceKind, c.model)
			}
			if cost, _ := res["cost"].(float64); !approxUSD(cost, wantCost) {
				t.Errorf("cost %v, want %g from the price table", res["cost"], wantCost)
			}

			got := h.checked(http.MethodGet, "/api/v1/spans/"+c.spanID, nil, http.StatusOK, shapeSpan)
			if cost, ok := got["cost"].(float64); priced != ok || priced && !approxUSD(cost, wantCost) {
				t.Errorf("Span cost %v, want %g (null when unpriced: priced %v)", got["cost"], wantCost, priced)
			}
			if got["traceId"] != traceID || got["status"] != c.status || got["provider"] != c.provider ||
				got["inputTokens"] != float64(c.in) || got["outputTokens"] != float64(c.out) {
				t.Errorf("stored span %v", got)
			}
			if e, _ := got["error"].(string); c.status == "ERROR" && e != "Rate limit exceeded: retry after 20s" || c.status == "SUCCESS" && got["error"] != nil {
				t.Errorf("error %v for a %s span", got["error"], c.status)
			}
			if c.parent != "" && got["parentSpanId"] != c.parent {
				t.Errorf("parentSpanId %v, want %s", got["parentSpanId"], c.parent)
			}
			if in, _ := got["input"].(map[string]any); len(in) != 0 || got["output"] != nil || got["variables"] != nil {
				t.Errorf("content stored with capture_content off: input %v output %v variables %v", got["input"], got["output"], got["variables"])
			}

			sp := exportedSpan(t, h.harness, c.spanID)
			if sp.Name() != c.name || sp.SpanKind() != trace.SpanKindClient {
				t.Errorf("exported %q kind %v, want %q client", sp.Name(), sp.SpanKind(), c.name)
			}
			if spans.FormatTraceID(sp.SpanContext().TraceID()) != traceID {
				t.Errorf("exported in trace %s, reply says %s", sp.SpanContext().TraceID(), traceID)
			}
			if c.parent != "" && spans.FormatSpanID(sp.Parent().SpanID()) != c.parent {
				t.Errorf("exported under %s, want %s", sp.Parent().SpanID(), c.parent)
			}
			attrs := attrValues(sp)
			if attrs["gen_ai.provider.name"] != c.kind {
				t.Errorf("gen_ai.provider.name %v, want %s", attrs["gen_ai.provider.name"], c.kind)
			}
			if c.status == "ERROR" && (attrs["error.type"] == nil || sp.Status().Code != codes.Error) {
				t.Errorf("an ERROR span has error.type %v and status %v", attrs["error.type"], sp.Status())
			}
			switch {
			case priced && (attrs["tracegate.cost.status"] != "priced" || !approxUSD(toFloat(attrs["gen_ai.usage.cost"]), wantCost)):
				t.Errorf("cost attributes %v / %v, want priced %g", attrs["tracegate.cost.status"], attrs["gen_ai.usage.cost"], wantCost)
			case !priced && (attrs["tracegate.cost.status"] != "unpriced" || attrs["gen_ai.usage.cost"] != nil):
				t.Errorf("cost attributes %v / %v, want unpriced", attrs["tracegate.cost.status"], attrs["gen_ai.usage.cost"])
			}
		})
	}

	// The SDK retries a post it saw no reply to: the same span again is answered the same and
	// not exported twice.
	h.t = t
	before := len(h.spans.GetSpans())
	res := h.checked(http.MethodPost, "/api/v1/spans", fixture(t, "spans/python_run_local.json"), http.StatusOK, shapeCreateSpanResult)
	if res["traceId"] != "tr_9a0b1c2d3e4f5a6b" || len(h.spans.GetSpans()) != before {
		t.Errorf("a retried post: reply %v, %d new spans exported", res, len(h.spans.GetSpans())-before)
	}
}

// TestCreateSpanRejects: an invalid payload is 400 INVALID_REQUEST naming the field.
func TestCreateSpanRejects(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{})
	var good map[string]any
	if err := json.Unmarshal(fixture(t, "spans/python_run_local.json"), &good); err != nil {
		t.Fatal(err)
	}
	with := func(key string, v any) []byte {
		m := map[string]any{}
		for k, x := range good {
			m[k] = x
		}
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	cases := map[string]struct {
		body  []byte
		field string
	}{
		"no spanId":          {with("spanId", nil), "spanId"},
		"bad spanId":         {with("spanId", "sp_XYZ"), "spanId"},
		"upper-case spanId":  {with("spanId", "sp_1A2B3C4D5E6F7A8B"), "spanId"},
		"no model":           {with("model", nil), "model"},
		"provider enum":      {with("provider", "gemini"), "provider"},
		"no input":           {with("input", nil), "input"},
		"input a string":     {with("input", "hi"), "input"},
		"status enum":        {with("status", "OK"), "status"},
		"latency a string":   {with("latencyMs", "812"), "latencyMs"},
		"negative tokens":    {with("inputTokens", -1), "inputTokens"},
		"no totalTokens":     {with("totalTokens", nil), "totalTokens"},
		"bad traceId":        {with("traceId", "tr_123"), "traceId"},
		"bad parentSpanId":   {with("parentSpanId", "span-1"), "parentSpanId"},
		"spanKind enum":      {with("spanKind", "AGENT"), "spanKind"},
		"tags not strings":   {with("tags", []any{1, 2}), "tags"},
		"variables a list":   {with("variables", []string{"a"}), "variables"},
		"temperature string": {with("temperature", "hot"), "temperature"},
		"toolCalls object":   {with("toolCalls", map[string]any{}), "toolCalls"},
		"not JSON":           {[]byte(`{"spanId":`), "JSON"},
		"not an object":      {[]byte(`[1]`), "object"},
	}
	for name, c := range cases {
		out := h.checked(http.MethodPost, "/api/v1/spans", c.body, http.StatusBadRequest, nil)
		code, msg := errorCode(t, out)
		if code != codeInvalidRequest || !strings.Contains(msg, c.field) {
			t.Errorf("%s: %s %q, want INVALID_REQUEST naming %s", name, code, msg, c.field)
		}
	}
	page := h.checked(http.MethodGet, "/api/v1/spans", nil, http.StatusOK, shapeListSpansResult)
	if n := len(page["spans"].([]any)); n != 0 {
		t.Errorf("%d spans stored from rejected payloads", n)
	}
}

// exportedSpan is the exported span with this wire span id.
func exportedSpan(t *testing.T, h *harness, spanID string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range h.spans.GetSpans().Snapshots() {
		if spans.FormatSpanID(s.SpanContext().SpanID()) == spanID {
			return s
		}
	}
	t.Fatalf("no exported span %s among %d", spanID, len(h.spans.GetSpans()))
	return nil
}

func attrValues(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func approxUSD(a, b float64) bool {
	d := a - b
	return d < 1e-11 && d > -1e-11
}

func toFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}
