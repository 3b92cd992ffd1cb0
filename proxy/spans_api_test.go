package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
	"go.opentelemetry.io/otel/trace"
)

// sdkSpan is a CreateSpanPayload as the Python SDK's run_local sends it, linked as given.
func sdkSpan(spanID, traceID, parentSpanID string) []byte {
	p := map[string]any{
		"spanId": spanID, "model": "gpt-4o-mini", "provider": "openai",
		"input":  map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}},
		"status": "SUCCESS", "latencyMs": 20, "inputTokens": 7, "outputTokens": 3, "totalTokens": 10,
		"sessionId": "sess_link",
	}
	if traceID != "" {
		p["traceId"] = traceID
	}
	if parentSpanID != "" {
		p["parentSpanId"] = parentSpanID
	}
	b, _ := json.Marshal(p)
	return b
}

// TestSessionFormsOneTraceTree: a session's prompts.run calls and local runs name each other as
// parents; the run spans, the ingested spans and an evaluation land in one trace tree, and the
// store lists them all.
func TestSessionFormsOneTraceTree(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	status, _, run1 := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "Alice"}, "sessionId": "sess_link"})
	if status != http.StatusOK {
		t.Fatalf("run: %d %v", status, run1)
	}
	traceID, runSpan := run1["traceId"].(string), run1["spanId"].(string)

	// The SDK's local run, under the run span.
	local := h.checked(http.MethodPost, "/api/v1/spans", sdkSpan("sp_1111111111111111", traceID, runSpan), http.StatusOK, shapeCreateSpanResult)
	if local["traceId"] != traceID {
		t.Fatalf("ingested span's trace %v, want the run's %s", local["traceId"], traceID)
	}
	// The next prompts.run names the local run as its parent.
	status, _, run2 := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "Bob"},
		"traceId": traceID, "parentSpanId": "sp_1111111111111111", "sessionId": "sess_link"})
	if status != http.StatusOK {
		t.Fatalf("run 2: %d %v", status, run2)
	}
	// A local run naming only its parent finds the trace through the store.
	orphan := h.checked(http.MethodPost, "/api/v1/spans", sdkSpan("sp_2222222222222222", "", run2["spanId"].(string)), http.StatusOK, shapeCreateSpanResult)
	if orphan["traceId"] != traceID {
		t.Errorf("a span naming a stored parent but no trace went to %v, want %s", orphan["traceId"], traceID)
	}
	ev := h.checked(http.MethodPost, "/api/v1/spans/sp_1111111111111111/evaluations",
		[]byte(`{"evaluatorKey":"helpfulness","value":4,"note":"good greeting"}`), http.StatusOK, shapeEvaluateResult)

	parentOf := map[string]string{}
	kindOf := map[string]trace.SpanKind{}
	for _, s := range h.spans.GetSpans().Snapshots() {
		if spans.FormatTraceID(s.SpanContext().TraceID()) != traceID {
			t.Errorf("span %q is in trace %s, not the session's %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
		id := spans.FormatSpanID(s.SpanContext().SpanID())
		parentOf[id], kindOf[id] = "", s.SpanKind()
		if s.Parent().IsValid() {
			parentOf[id] = spans.FormatSpanID(s.Parent().SpanID())
		}
	}
	evSpan := "sp_" + strings.TrimPrefix(ev["id"].(string), "ev_")
	for child, parent := range map[string]string{
		"sp_1111111111111111":   runSpan,
		run2["spanId"].(string): "sp_1111111111111111",
		"sp_2222222222222222":   run2["spanId"].(string),
		evSpan:                  "sp_1111111111111111",
		runSpan:                 "",
	} {
		if got, ok := parentOf[child]; !ok || got != parent {
			t.Errorf("span %s: parent %q (exported %v), want %q", child, got, ok, parent)
		}
	}
	if kindOf["sp_1111111111111111"] != trace.SpanKindClient || kindOf[evSpan] != trace.SpanKindInternal || kindOf[runSpan] != trace.SpanKindServer {
		t.Errorf("kinds: ingested %v, evaluation %v, run %v", kindOf["sp_1111111111111111"], kindOf[evSpan], kindOf[runSpan])
	}

	page := h.checked(http.MethodGet, "/api/v1/spans?sessionId=sess_link", nil, http.StatusOK, shapeListSpansResult)
	var ids []string
	for _, s := range page["spans"].([]any) {
		ids = append(ids, s.(map[string]any)["spanId"].(string))
	}
	want := []string{"sp_2222222222222222", run2["spanId"].(string), "sp_1111111111111111", runSpan} // newest first
	if !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	run := h.checked(http.MethodGet, "/api/v1/spans/"+runSpan, nil, http.StatusOK, shapeSpan)
	if run["promptSlug"] != "greet" || run["promptVersion"] != float64(1) || run["provider"] != "openai" || run["traceId"] != traceID {
		t.Errorf("stored run %v", run)
	}
	got := h.checked(http.MethodGet, "/api/v1/spans/sp_1111111111111111", nil, http.StatusOK, shapeSpan)
	evs, _ := got["evaluations"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["id"] != ev["id"] {
		t.Errorf("evaluations on the span %v, want the one posted (%v)", got["evaluations"], ev["id"])
	}
}

// TestRecordsEveryCallOnce: runs and OpenAI-endpoint calls reach the store through the sink,
// failures included.
func TestRecordsEveryCallOnce(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{replies: []upstreamReply{
		okReply(t, "openai/plain_text.response.json"),
		okReply(t, "openai/plain_text.response.json"),
		{Status: 400, Body: []byte(`{"error":{"message":"bad model","type":"invalid_request_error"}}`)},
	}})
	if status, _, out := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "A"}, "tags": []string{"t1"}, "userId": "u9"}); status != 200 {
		t.Fatalf("run: %d %v", status, out)
	}
	status, hdr, _ := h.do(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{headerTags: "t1,t2", headerUserID: "u9"})
	if status != 200 {
		t.Fatalf("chat: %d", status)
	}
	chatSpan := hdr.Get(headerSpanID)
	if status, _, _ := h.do(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, nil); status != 400 {
		t.Fatalf("failing chat: %d", status)
	}
	page := h.checked(http.MethodGet, "/api/v1/spans", nil, http.StatusOK, shapeListSpansResult)
	items := page["spans"].([]any)
	if len(items) != 3 {
		t.Fatalf("%d records, want the run, the chat call and the failed chat call: %v", len(items), items)
	}
	failed, chat := items[0].(map[string]any), items[1].(map[string]any)
	if failed["status"] != "ERROR" || chat["status"] != "SUCCESS" || chat["spanId"] != chatSpan {
		t.Errorf("newest first: %v then %v (chat span %s)", failed, chat, chatSpan)
	}
	full := h.checked(http.MethodGet, "/api/v1/spans/"+failed["spanId"].(string), nil, http.StatusOK, shapeSpan)
	if e, _ := full["error"].(string); !strings.Contains(e, "bad model") {
		t.Errorf("failed call's error %q, want the provider's message", e)
	}
	tagged := h.checked(http.MethodGet, "/api/v1/spans?tags=t1,t2&userId=u9", nil, http.StatusOK, shapeListSpansResult)
	if n := len(tagged["spans"].([]any)); n != 1 {
		t.Errorf("tags=t1,t2: %d spans, want only the chat call that has both", n)
	}
}

// putRecords stores records straight into the queue, as the sink does.
func putRecords(t *testing.T, q *store.Queue, recs ...store.Record) {
	t.Helper()
	for _, r := range recs {
		if !q.Enqueue(r) {
			t.Fatalf("queue refused %s", r.SpanID)
		}
	}
}

func listIDs(t *testing.T, h *spansHarness, query string) []string {
	t.Helper()
	page := h.checked(http.MethodGet, "/api/v1/spans"+query, nil, http.StatusOK, shapeListSpansResult)
	var ids []string
	for _, s := range page["spans"].([]any) {
		ids = append(ids, s.(map[string]any)["spanId"].(string))
	}
	return ids
}

func TestListSpansFilters(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{})
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cost := 0.5
	putRecords(t, h.queue,
		store.Record{SpanID: "sp_000000000000000a", TraceID: "tr_000000000000000a", Model: "m", PromptSlug: "greet", Status: store.StatusSuccess,
			Tags: []string{"a", "b"}, UserID: "u1", SessionID: "s1", CreatedAt: day.Add(-48 * time.Hour), Cost: &cost},
		store.Record{SpanID: "sp_000000000000000b", TraceID: "tr_000000000000000b", Model: "m", PromptSlug: "greet", Status: store.StatusError,
			Tags: []string{"a"}, UserID: "u2", SessionID: "s1", CreatedAt: day},
		store.Record{SpanID: "sp_000000000000000c", TraceID: "tr_000000000000000c", Model: "m", PromptSlug: "other", Status: store.StatusSuccess,
			Tags: []string{"b"}, UserID: "u1", SessionID: "s2", CreatedAt: day.Add(time.Hour + 500*time.Microsecond)},
	)
	for query, want := range map[string][]string{
		"":                          {"sp_000000000000000c", "sp_000000000000000b", "sp_000000000000000a"},
		"?promptSlug=greet":         {"sp_000000000000000b", "sp_000000000000000a"},
		"?status=ERROR":             {"sp_000000000000000b"},
		"?status=SUCCESS&userId=u1": {"sp_000000000000000c", "sp_000000000000000a"},
		"?sessionId=s1&userId=u1":   {"sp_000000000000000a"},
		"?tags=a":                   {"sp_000000000000000b", "sp_000000000000000a"},
		"?tags=a%2Cb":               {"sp_000000000000000a"},
		"?tags=b,%20a":              {"sp_000000000000000a"},
		"?tags=z":                   nil,
		// Node: toISOString.
		"?startDate=2026-03-10T00:00:00.000Z": {"sp_000000000000000c", "sp_000000000000000b"},
		// Python: isoformat() of a naive datetime (UTC), with and without microseconds.
		"?startDate=2026-03-10T12:00:00":                           {"sp_000000000000000c", "sp_000000000000000b"},
		"?endDate=2026-03-10T12:00:00.000001":                      {"sp_000000000000000b", "sp_000000000000000a"},
		"?startDate=2026-03-10T13:00:00.000400":                    {"sp_000000000000000c"},
		"?startDate=2026-03-10T13:00:00.000600":                    nil,
		"?endDate=" + url.QueryEscape("2026-03-10T11:00:00+00:00"): {"sp_000000000000000a"},
		// Python: isoformat() of an aware datetime in another zone.
		"?startDate=" + url.QueryEscape("2026-03-10T13:30:00.000000+02:00"): {"sp_000000000000000c", "sp_000000000000000b"},
		// A '+' sent unencoded arrives as a space.
		"?startDate=2026-03-10T13:30:00+02:00": {"sp_000000000000000c", "sp_000000000000000b"},
		// A plain date: the whole day for endDate.
		"?startDate=2026-03-10&endDate=2026-03-10": {"sp_000000000000000c", "sp_000000000000000b"},
		"?endDate=2026-03-09":                      {"sp_000000000000000a"},
		"?limit=1":                                 {"sp_000000000000000c"},
		"?unknownParameter=1":                      {"sp_000000000000000c", "sp_000000000000000b", "sp_000000000000000a"},
	} {
		if got := listIDs(t, h, query); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	for query, param := range map[string]string{
		"?status=DONE":         "status",
		"?limit=0":             "limit",
		"?limit=ten":           "limit",
		"?startDate=yesterday": "startDate",
		"?endDate=2026-13-01":  "endDate",
		"?startDate=2026-03-11&endDate=2026-03-10": "startDate",
		"?cursor=not-a-cursor":                     "cursor",
		"?userId=" + strings.Repeat("u", 2000):     "userId",
	} {
		out := h.checked(http.MethodGet, "/api/v1/spans"+query, nil, http.StatusBadRequest, nil)
		if code, msg := errorCode(t, out); code != codeInvalidRequest || !strings.Contains(msg, param) {
			t.Errorf("%.60s: %s %q, want INVALID_REQUEST naming %s", query, code, msg, param)
		}
	}
	item := h.checked(http.MethodGet, "/api/v1/spans?limit=1&status=SUCCESS&userId=u1&sessionId=s1", nil, http.StatusOK, shapeListSpansResult)["spans"].([]any)[0].(map[string]any)
	if item["cost"] != 0.5 || item["promptSlug"] != "greet" || item["createdAt"] != "2026-03-08T12:00:00.000Z" {
		t.Errorf("list item %v", item)
	}
}

// TestListSpansPagingWithConcurrentInserts: cursor paging neither repeats nor skips the records
// that were there when paging began, while new records keep arriving.
func TestListSpansPagingWithConcurrentInserts(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{})
	base := time.Now().Add(-time.Hour)
	const n = 57
	var want []string
	for i := range n {
		id := fmt.Sprintf("sp_%016x", i+1)
		putRecords(t, h.queue, store.Record{SpanID: id, TraceID: "tr_0000000000000001", Model: "m", Status: store.StatusSuccess,
			CreatedAt: base.Add(time.Duration(i) * time.Second)})
		want = append(want, id)
	}
	slices.Reverse(want)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.queue.Enqueue(store.Record{SpanID: fmt.Sprintf("sp_f%015x", i+1), TraceID: "tr_0000000000000002", Model: "m",
				Status: store.StatusSuccess, CreatedAt: time.Now()})
			time.Sleep(time.Millisecond)
		}
	}()

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		q := "?limit=10&startDate=" + url.QueryEscape(base.Add(-time.Second).Format(time.RFC3339Nano)) +
			"&endDate=" + url.QueryEscape(base.Add(n*time.Second).Format(time.RFC3339Nano))
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := h.checked(http.MethodGet, "/api/v1/spans"+q, nil, http.StatusOK, shapeListSpansResult)
		for _, s := range page["spans"].([]any) {
			got = append(got, s.(map[string]any)["spanId"].(string))
		}
		if page["cursor"] != page["nextCursor"] {
			t.Errorf("cursor %v and nextCursor %v differ", page["cursor"], page["nextCursor"])
		}
		if page["hasMore"] != true {
			if page["cursor"] != nil {
				t.Errorf("last page has cursor %v", page["cursor"])
			}
			break
		}
		cursor = page["cursor"].(string)
	}
	close(stop)
	wg.Wait()
	if !slices.Equal(got, want) {
		t.Errorf("paged %d records %v\nwant %d %v", len(got), got, len(want), want)
	}

	// Without a time window the new records come first, and still nothing repeats.
	seen := map[string]bool{}
	cursor = ""
	for {
		q := "?limit=25"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := h.checked(http.MethodGet, "/api/v1/spans"+q, nil, http.StatusOK, shapeListSpansResult)
		for _, s := range page["spans"].([]any) {
			id := s.(map[string]any)["spanId"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		if page["hasMore"] != true {
			break
		}
		cursor = page["cursor"].(string)
	}
	for _, id := range want {
		if !seen[id] {
			t.Errorf("%s skipped", id)
		}
	}
}

func TestGetAndEvaluateErrors(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{authKeys: nil})
	putRecords(t, h.queue, store.Record{SpanID: "sp_00000000000000aa", TraceID: "tr_00000000000000bb", Model: "m", Status: store.StatusSuccess})
	// Percent-encoded ids, as quote(safe='') and encodeURIComponent send them.
	if got := h.checked(http.MethodGet, "/api/v1/spans/sp%5F00000000000000aa", nil, http.StatusOK, shapeSpan); got["spanId"] != "sp_00000000000000aa" {
		t.Errorf("encoded id read %v", got["spanId"])
	}
	for _, path := range []string{"/api/v1/spans/sp_00000000000000ff", "/api/v1/spans/sp_00000000000000aa%2Fx", "/api/v1/spans/%25zz"} {
		out := h.checked(http.MethodGet, path, nil, http.StatusNotFound, nil)
		if code, _ := errorCode(t, out); code != codeNotFound {
			t.Errorf("%s: %s, want NOT_FOUND", path, code)
		}
	}
	out := h.checked(http.MethodPost, "/api/v1/spans/sp_00000000000000ff/evaluations", []byte(`{"evaluatorKey":"k","value":1}`), http.StatusNotFound, nil)
	if code, _ := errorCode(t, out); code != codeNotFound {
		t.Errorf("evaluation of an unknown span: %s, want NOT_FOUND", code)
	}
	for body, field := range map[string]string{
		`{"value":1}`:                             "evaluatorKey",
		`{"evaluatorKey":"k"}`:                    "value",
		`{"evaluatorKey":"k","value":"1"}`:        "value",
		`{"evaluatorKey":"k","value":1,"note":3}`: "note",
		`{"evaluatorKey":`:                        "JSON",
	} {
		out := h.checked(http.MethodPost, "/api/v1/spans/sp_00000000000000aa/evaluations", []byte(body), http.StatusBadRequest, nil)
		if code, msg := errorCode(t, out); code != codeInvalidRequest || !strings.Contains(msg, field) {
			t.Errorf("%s: %s %q, want INVALID_REQUEST naming %s", body, code, msg, field)
		}
	}
	ev := h.checked(http.MethodPost, "/api/v1/spans/sp_00000000000000aa/evaluations", []byte(`{"evaluatorKey":"accuracy","value":0.5}`), http.StatusOK, shapeEvaluateResult)
	if ev["evaluatorKey"] != "accuracy" || ev["evaluatorName"] != "accuracy" || ev["value"] != 0.5 || ev["source"] != evaluationSource || ev["note"] != nil {
		t.Errorf("EvaluateResult %v", ev)
	}
	sp := exportedSpan(t, h.harness, "sp_"+strings.TrimPrefix(ev["id"].(string), "ev_"))
	if spans.FormatTraceID(sp.SpanContext().TraceID()) != "tr_00000000000000bb" || spans.FormatSpanID(sp.Parent().SpanID()) != "sp_00000000000000aa" ||
		sp.Name() != "evaluation accuracy" || attrValues(sp)["gen_ai.evaluation.score.value"] != 0.5 {
		t.Errorf("evaluation span %q in %s under %s: %v", sp.Name(), sp.SpanContext().TraceID(), sp.Parent().SpanID(), attrValues(sp))
	}
	for method, path := range map[string]string{http.MethodDelete: "/api/v1/spans", http.MethodGet: "/api/v1/spans/sp_00000000000000aa/evaluations", http.MethodPut: "/api/v1/spans/sp_00000000000000aa"} {
		if status, _ := h.raw(method, path, nil); status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", method, path, status)
		}
	}
}

func TestSpansAPIAuth(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{authKeys: []string{"k1"}})
	for _, path := range []string{"/api/v1/spans", "/api/v1/spans/sp_00000000000000aa"} {
		out := h.checked(http.MethodGet, path, nil, http.StatusUnauthorized, nil)
		if code, _ := errorCode(t, out); code != codeUnauthorized {
			t.Errorf("%s without a key: %s", path, code)
		}
	}
	if status, _, _ := h.do(http.MethodGet, "/api/v1/spans", nil, map[string]string{"Authorization": "Bearer k1"}); status != http.StatusOK {
		t.Errorf("with the key: %d", status)
	}
}

// stuckBackend is a store whose writes never finish until released: a database that hangs.
type stuckBackend struct {
	*store.Memory
	release chan struct{}
}

func (b *stuckBackend) Put(ctx context.Context, recs []store.Record) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Memory.Put(ctx, recs)
}

// TestRunsNeverWaitForTheStore: with the store's writes hung and its queue full, runs still
// answer, and the records that did not fit are counted as dropped.
func TestRunsNeverWaitForTheStore(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	rec := h.server.spans.(*spans.Recorder)
	backend := &stuckBackend{Memory: store.NewMemory(0), release: make(chan struct{})}
	q := store.NewQueue(backend, 2)
	rec.SetSink(NewStoreSink(q))
	const runs = 8
	for i := range runs {
		if status, _, out := h.run("greet", map[string]any{"version": 1, "variables": map[string]string{"name": "A"}}); status != http.StatusOK {
			t.Fatalf("run %d: %d %v", i, status, out)
		}
	}
	st := q.Stats()
	if st.Dropped == 0 || st.Dropped+uint64(st.Queued) > runs {
		t.Errorf("queue %+v after %d runs into a hung store: want the overflow dropped and counted", st, runs)
	}
	close(backend.release)
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStreamedCallIsRecorded: a streamed OpenAI-compatible call is recorded when its stream
// ends, with the usage the upstream reported at the end.
func TestStreamedCallIsRecorded(t *testing.T) {
	h := newSpansHarness(t, harnessOptions{replies: []upstreamReply{sseReply(t, "openai/streaming_text.sse")}})
	status, raw := h.raw(http.MethodPost, "/v1/chat/completions", []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if status != http.StatusOK || !strings.Contains(string(raw), "[DONE]") {
		t.Fatalf("stream: %d %s", status, raw)
	}
	var items []any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && len(items) == 0; time.Sleep(5 * time.Millisecond) {
		items = h.checked(http.MethodGet, "/api/v1/spans", nil, http.StatusOK, shapeListSpansResult)["spans"].([]any)
	}
	if len(items) != 1 {
		t.Fatalf("%d records after a streamed call, want 1", len(items))
	}
	if it := items[0].(map[string]any); it["status"] != "SUCCESS" || it["model"] != "gpt-4o-mini" || it["inputTokens"].(float64) == 0 {
		t.Errorf("streamed call recorded as %v", it)
	}
}
