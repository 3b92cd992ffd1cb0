package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Jaeger's query API (GET /api/traces/{id}), the parts the test reads.
type jaegerReply struct {
	Data   []jTrace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type jTrace struct {
	TraceID   string `json:"traceID"`
	Spans     []jSpan
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

type jSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64  `json:"startTime"` // µs
	Duration  int64  `json:"duration"`  // µs
	Tags      []jTag `json:"tags"`
	ProcessID string `json:"processID"`
}

type jTag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func (s *jSpan) tag(key string) (jTag, bool) {
	for _, t := range s.Tags {
		if t.Key == key {
			return t, true
		}
	}
	return jTag{}, false
}

// str gives a tag's value as text: strings unquoted, anything else as its JSON.
func (s *jSpan) str(key string) (string, bool) {
	t, ok := s.tag(key)
	if !ok {
		return "", false
	}
	var v string
	if json.Unmarshal(t.Value, &v) == nil {
		return v, true
	}
	return string(t.Value), true
}

func (s *jSpan) num(key string) (float64, bool) {
	v, ok := s.str(key)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// list gives a string-slice attribute; the OTLP translator stores it as a JSON array string.
func (s *jSpan) list(key string) ([]string, bool) {
	v, ok := s.str(key)
	if !ok {
		return nil, false
	}
	var l []string
	if json.Unmarshal([]byte(v), &l) == nil {
		return l, true
	}
	return []string{v}, true
}

// parents gives the span ids of the CHILD_OF references.
func (s *jSpan) parents() []string {
	var ids []string
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			ids = append(ids, r.SpanID)
		}
	}
	return ids
}

type jaegerClient struct {
	base string
	hc   *http.Client
}

// trace fetches a trace; nil with no error when Jaeger does not have it (yet).
func (j *jaegerClient) trace(id string) (*jTrace, error) {
	var r jaegerReply
	status, err := j.get("/api/traces/"+id, &r)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound || len(r.Data) == 0 {
		return nil, nil
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /api/traces/%s: status %d %v", id, status, r.Errors)
	}
	if len(r.Data) != 1 {
		return nil, fmt.Errorf("GET /api/traces/%s: %d traces, want 1", id, len(r.Data))
	}
	return &r.Data[0], nil
}

func (j *jaegerClient) get(path string, into any) (int, error) {
	resp, err := j.hc.Get(j.base + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, into); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: decode %q: %w", path, truncate(raw), err)
		}
	}
	return resp.StatusCode, nil
}

// waitTrace polls until the trace holds want spans or the deadline passes; it returns the
// last version seen (nil when Jaeger never had it).
func (j *jaegerClient) waitTrace(id string, want int, deadline time.Time) (*jTrace, error) {
	for {
		tr, err := j.trace(id)
		if err == nil && tr != nil && len(tr.Spans) >= want {
			return tr, nil
		}
		if time.Now().After(deadline) {
			return tr, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	base := fs.String("jaeger", "", "Jaeger query base URL, e.g. http://127.0.0.1:16686")
	statePath := fs.String("state", "", "file written by traffic")
	tally := fs.String("tally", "", "file to append \"passed failed\" to")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for spans to appear")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := loadState(*statePath)
	if err != nil {
		return err
	}
	j := &jaegerClient{base: strings.TrimRight(*base, "/"), hc: &http.Client{Timeout: 10 * time.Second}}
	s := &suite{tallyPath: *tally}
	deadline := time.Now().Add(*timeout)

	// Group the expected runs by trace, in the order they were made.
	var order []string
	byTrace := map[string][]runSpan{}
	for _, r := range st.Runs {
		if _, seen := byTrace[r.TraceID]; !seen {
			order = append(order, r.TraceID)
		}
		byTrace[r.TraceID] = append(byTrace[r.TraceID], r)
	}
	traces := map[string]*jTrace{}
	for _, id := range order {
		runs := byTrace[id]
		labels := make([]string, len(runs))
		for i, r := range runs {
			labels[i] = r.Label
		}
		lookup := id
		if runs[0].ShortTraceID != "" {
			lookup = runs[0].ShortTraceID
		}
		// A run span and one attempt span each, and an SDK span and its evaluation per ingested span.
		want := 2*len(runs) + 2*len(ingestedIn(st, id))
		s.run(fmt.Sprintf("Jaeger: trace %s holds %d spans from service %s (%s)", lookup, want, st.Service, strings.Join(labels, ", ")), func(t *test) {
			tr, err := j.waitTrace(lookup, want, deadline)
			t.noErr(err, "query Jaeger")
			t.require(tr != nil, "GET /api/traces/%s: not found after %s", lookup, *timeout)
			traces[id] = tr
			t.check(len(tr.Spans) == want, "%d spans, want %d: %s", len(tr.Spans), want, spanList(tr))
			t.check(pad32(tr.TraceID) == id, "traceID %s, want %s", tr.TraceID, id)
			for _, sp := range tr.Spans {
				t.check(pad32(sp.TraceID) == id, "span %s has traceID %s", sp.SpanID, sp.TraceID)
				p, ok := tr.Processes[sp.ProcessID]
				t.check(ok && p.ServiceName == st.Service, "span %s (%s): service %q, want %q", sp.SpanID, sp.OperationName, p.ServiceName, st.Service)
			}
		})
		if short := runs[0].ShortTraceID; short != "" {
			s.run(fmt.Sprintf("Jaeger: 64-bit trace tr_%s is found by /api/traces/%s and by the zero-padded %s", short, short, id), func(t *test) {
				a, err := j.trace(short)
				t.noErr(err, "GET by 16-hex id")
				b, err := j.trace(id)
				t.noErr(err, "GET by 32-hex id")
				t.require(a != nil, "GET /api/traces/%s: not found", short)
				t.require(b != nil, "GET /api/traces/%s: not found", id)
				t.check(slices.Equal(spanIDs(a), spanIDs(b)) && len(spanIDs(a)) == want,
					"the two lookups differ: %v vs %v", spanIDs(a), spanIDs(b))
			})
		}
	}

	for _, r := range st.Runs {
		name := fmt.Sprintf("Jaeger: %s: SERVER span %q with one CLIENT attempt %q", r.Label, r.Name, "chat "+st.Model)
		s.run(name, func(t *test) {
			tr := traces[r.TraceID]
			t.require(tr != nil, "skipped: trace %s not found", r.TraceID)
			checkRun(t, st, tr, &r)
		})
	}

	for _, in := range st.Ingested {
		s.run(fmt.Sprintf("Jaeger: %s: CLIENT %q child of the run span, INTERNAL %q child of it", in.Label, "chat "+in.Model, "evaluation "+in.EvalKey), func(t *test) {
			tr := traces[in.TraceID]
			t.require(tr != nil, "skipped: trace %s not found", in.TraceID)
			checkIngested(t, tr, &in)
		})
	}

	s.run("Jaeger: search by service and tracegate.prompt.slug finds the weather trace", func(t *test) {
		var weather []string
		for _, r := range st.Runs {
			if r.Slug == "weather-assistant" && !slices.Contains(weather, r.TraceID) {
				weather = append(weather, r.TraceID)
			}
		}
		t.require(len(weather) == 1, "skipped: the weather runs failed")
		q := url.Values{
			"service":  {st.Service},
			"tags":     {`{"tracegate.prompt.slug":"weather-assistant"}`},
			"lookback": {"1h"},
			"limit":    {"20"},
		}
		var r jaegerReply
		status, err := j.get("/api/traces?"+q.Encode(), &r)
		t.noErr(err, "search")
		t.require(status == http.StatusOK, "search: status %d %v", status, r.Errors)
		var found []string
		for _, tr := range r.Data {
			found = append(found, pad32(tr.TraceID))
		}
		t.check(slices.Equal(found, weather), "search found traces %v, want only %v", found, weather)
	})

	return s.finish()
}

// checkRun asserts one run span and its attempt span.
func checkRun(t *test, st *state, tr *jTrace, r *runSpan) {
	run := findSpan(tr, r.SpanID)
	t.require(run != nil, "run span %s not in the trace: %s", r.SpanID, spanList(tr))
	t.check(run.OperationName == r.Name, "run span name %q, want %q", run.OperationName, r.Name)
	checkTag(t, run, "span.kind", "server")
	parents := run.parents()
	if r.ParentSpanID == "" {
		t.check(len(parents) == 0, "run span should be a root, has parents %v", parents)
	} else {
		t.check(slices.Equal(parents, []string{r.ParentSpanID}), "run span parents %v, want CHILD_OF %s", parents, r.ParentSpanID)
	}
	checkNoError(t, run)
	checkTag(t, run, "gen_ai.request.model", st.Model)
	checkTag(t, run, "gen_ai.response.model", st.Model)
	if r.Slug != "" {
		checkTag(t, run, "tracegate.prompt.slug", r.Slug)
		checkTag(t, run, "tracegate.prompt.version", strconv.Itoa(r.Version))
		checkTag(t, run, "gen_ai.prompt.name", r.Slug)
		checkTag(t, run, "gen_ai.prompt.version", strconv.Itoa(r.Version))
	} else {
		_, has := run.tag("tracegate.prompt.slug")
		t.check(!has, "an OpenAI-compatible call has no prompt, yet tracegate.prompt.slug is set")
	}
	checkFinish(t, run, r.FinishReason)
	in, out := checkUsage(t, run, r)

	// Cost: priced through the config's override, on both keys, matching the reply.
	checkTag(t, run, "tracegate.cost.status", "priced")
	cost, ok := run.num("gen_ai.usage.cost")
	want := float64(in)*st.PriceIn + float64(out)*st.PriceOut
	if r.CostKnown {
		want = r.Cost
	}
	t.check(ok && cost > 0 && approx(cost, want), "gen_ai.usage.cost %v (present %v), want %g", cost, ok, want)
	total, ok := run.num("llm.cost.total")
	t.check(ok && approx(total, cost), "llm.cost.total %v (present %v), want %g like gen_ai.usage.cost", total, ok, cost)

	// Attribution.
	if r.UserID != "" {
		checkTag(t, run, "user.id", r.UserID)
	}
	if r.SessionID != "" {
		checkTag(t, run, "session.id", r.SessionID)
		checkTag(t, run, "gen_ai.conversation.id", r.SessionID)
	}
	if len(r.Tags) > 0 {
		tags, _ := run.list("tracegate.tags")
		t.check(slices.Equal(tags, r.Tags), "tracegate.tags %v, want %v", tags, r.Tags)
	}
	if len(r.Variables) > 0 {
		names, _ := run.list("tracegate.prompt.variables")
		slices.Sort(names)
		t.check(slices.Equal(names, r.Variables), "tracegate.prompt.variables %v, want %v", names, r.Variables)
	}
	// capture_content is off: no prompt text or variable values on any span.
	for _, sp := range []*jSpan{run} {
		for _, tg := range sp.Tags {
			t.check(!strings.HasPrefix(tg.Key, "tracegate.prompt.variable.") && !strings.HasPrefix(tg.Key, "gen_ai.input.") &&
				!strings.HasPrefix(tg.Key, "gen_ai.output.") && tg.Key != "gen_ai.system_instructions",
				"content captured with capture_content off: %s", tg.Key)
		}
	}

	// The attempt: one CLIENT child of the run span. Its other children can only be the runs
	// chained to it (run 2 under run 1).
	var attempts []*jSpan
	for i := range tr.Spans {
		c := &tr.Spans[i]
		if !slices.Contains(c.parents(), r.SpanID) || isIngested(st, c.SpanID) {
			continue
		}
		if kind, _ := c.str("span.kind"); kind == "client" {
			attempts = append(attempts, c)
			continue
		}
		t.check(slices.ContainsFunc(st.Runs, func(o runSpan) bool { return o.SpanID == c.SpanID && o.ParentSpanID == r.SpanID }),
			"run span %s has an unexpected child %s %q", r.SpanID, c.SpanID, c.OperationName)
	}
	t.require(len(attempts) == 1, "run span %s has %d CLIENT children, want one attempt: %s", r.SpanID, len(attempts), spanList(tr))
	a := attempts[0]
	t.check(a.OperationName == "chat "+st.Model, "attempt span name %q, want %q", a.OperationName, "chat "+st.Model)
	checkTag(t, a, "span.kind", "client")
	checkNoError(t, a)
	checkTag(t, a, "gen_ai.operation.name", "chat")
	checkTag(t, a, "gen_ai.provider.name", "tracegate.mock")
	checkTag(t, a, "gen_ai.request.model", st.Model)
	checkTag(t, a, "gen_ai.response.model", st.Model)
	checkTag(t, a, "tracegate.provider", "mock")
	checkTag(t, a, "tracegate.attempt", "1")
	if v, ok := a.str("gen_ai.request.stream"); ok {
		t.check(v == strconv.FormatBool(r.Stream), "attempt gen_ai.request.stream %s, want %v", v, r.Stream)
	}
	checkFinish(t, a, r.FinishReason)
	ain, _ := a.num("gen_ai.usage.input_tokens")
	aout, _ := a.num("gen_ai.usage.output_tokens")
	t.check(int64(ain) == in && int64(aout) == out, "attempt usage %v/%v, want the run's %d/%d", ain, aout, in, out)
	t.check(a.StartTime >= run.StartTime && a.StartTime+a.Duration <= run.StartTime+run.Duration,
		"attempt [%d, +%d µs] is not inside the run span [%d, +%d µs]", a.StartTime, a.Duration, run.StartTime, run.Duration)
}

// checkUsage checks the token counts and returns them.
func checkUsage(t *test, sp *jSpan, r *runSpan) (int64, int64) {
	in, okIn := sp.num("gen_ai.usage.input_tokens")
	out, okOut := sp.num("gen_ai.usage.output_tokens")
	t.require(okIn && okOut, "gen_ai.usage.input_tokens / output_tokens missing on %s", sp.OperationName)
	if r.UsageKnown {
		t.check(int64(in) == r.InputTokens && int64(out) == r.OutputTokens,
			"usage %v/%v tokens, want the reply's %d/%d", in, out, r.InputTokens, r.OutputTokens)
	} else {
		t.check(in > 0 && out > 0, "usage %v/%v tokens, want both > 0 (tracegate asks the upstream for stream usage)", in, out)
	}
	return int64(in), int64(out)
}

func checkFinish(t *test, sp *jSpan, want string) {
	if want == "" {
		return
	}
	got, _ := sp.list("gen_ai.response.finish_reasons")
	t.check(slices.Equal(got, []string{want}), "%s: gen_ai.response.finish_reasons %v, want [%s]", sp.OperationName, got, want)
}

func checkTag(t *test, sp *jSpan, key, want string) {
	got, ok := sp.str(key)
	t.check(ok && got == want, "%s (%s): %s = %q (present %v), want %q", sp.OperationName, sp.SpanID, key, got, ok, want)
}

func checkNoError(t *test, sp *jSpan) {
	if v, ok := sp.str("error"); ok {
		t.check(v != "true", "%s: error tag set", sp.OperationName)
	}
	if v, ok := sp.str("otel.status_code"); ok {
		t.check(v != "ERROR", "%s: otel.status_code ERROR", sp.OperationName)
	}
	_, has := sp.tag("error.type")
	t.check(!has, "%s: error.type set", sp.OperationName)
}

func findSpan(tr *jTrace, id string) *jSpan {
	for i := range tr.Spans {
		if tr.Spans[i].SpanID == id {
			return &tr.Spans[i]
		}
	}
	return nil
}

func spanIDs(tr *jTrace) []string {
	var ids []string
	for _, s := range tr.Spans {
		ids = append(ids, s.SpanID)
	}
	slices.Sort(ids)
	return ids
}

func spanList(tr *jTrace) string {
	var b strings.Builder
	for i, s := range tr.Spans {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q parents %v", s.SpanID, s.OperationName, s.parents())
	}
	return "[" + b.String() + "]"
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
