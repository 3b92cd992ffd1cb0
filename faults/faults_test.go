package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// route is one inbound surface that calls providers. A new surface joins every fault test
// with one line here: its path, whether the call streams, its request body for a model, and
// for a stream the last event of a whole one.
type route struct {
	name   string
	path   string
	stream bool
	body   func(model string) string
	// done reports whether a stream's last data payload is the format's success terminator.
	done func(last string) bool
	// only, when set, names the providers the route is tried with (embeddings: Anthropic has
	// no embeddings API; Gemini's is batchEmbedContents), and the others must refuse it; skip
	// names provider/fault pairs that cannot occur on it.
	only []string
	skip map[string]bool
}

var routes = []route{
	{name: "chat", path: "/v1/chat/completions", body: func(m string) string { return chatBody(m, false) }},
	{name: "chat-stream", path: "/v1/chat/completions", stream: true, body: func(m string) string { return chatBody(m, true) }, done: isDone,
		skip: map[string]bool{"bdr/cutusage": true}},
	{name: "run", path: "/api/v1/prompts/fault/run", body: func(m string) string { return `{"model":"` + m + `","variables":{"text":"hi"}}` }},
	{name: "responses", path: "/v1/responses", body: func(m string) string { return responsesBody(m, false) }},
	{name: "responses-stream", path: "/v1/responses", stream: true, body: func(m string) string { return responsesBody(m, true) },
		done: eventIs("response.completed"),
		// A passed-through Responses stream carries its usage in its terminal event alone.
		skip: map[string]bool{"oai/cutusage": true, "bdr/cutusage": true}},
	{name: "messages", path: "/v1/messages", body: func(m string) string { return messagesBody(m, false) }},
	{name: "messages-stream", path: "/v1/messages", stream: true, body: func(m string) string { return messagesBody(m, true) }, done: eventIs("message_stop"),
		skip: map[string]bool{"bdr/cutusage": true}},
	{name: "embeddings", path: "/v1/embeddings", body: func(m string) string { return `{"model":"` + m + `","input":"hi"}` }, only: []string{"oai", "gem", "azr", "vgm"}},
}

func chatBody(model string, stream bool) string {
	return `{"model":"` + model + `","stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
}

func responsesBody(model string, stream bool) string {
	return `{"model":"` + model + `","stream":` + strconv.FormatBool(stream) + `,"input":"hi"}`
}

func messagesBody(model string, stream bool) string {
	return `{"model":"` + model + `","max_tokens":16,"stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
}

func isDone(last string) bool { return last == "[DONE]" }

// eventIs matches a last event by its type member.
func eventIs(typ string) func(string) bool {
	return func(last string) bool {
		var ev struct {
			Type string `json:"type"`
		}
		return json.Unmarshal([]byte(last), &ev) == nil && ev.Type == typ
	}
}

// providersOf are the providers route r is tried with.
func (r route) providersOf() []string {
	if r.only != nil {
		return r.only
	}
	return providers
}

// providers are the configured providers: oai is passed through by the OpenAI surface, ant
// and gem (Gemini: generateContent, streamGenerateContent?alt=sse) are translated everywhere,
// vtx (Vertex AI's Claude: rawPredict, streamRawPredict; signed calls over net/http, not the
// fasthttp exchange) is translated everywhere and passed through by Messages, and bdr (AWS
// Bedrock's Converse and ConverseStream: SigV4-signed calls over net/http, streams in AWS
// event-stream frames) is translated everywhere. vtx and bdr have no embeddings (Vertex's
// Claude models have none, Bedrock's are InvokeModel formats tracegate does not speak:
// tracegate answers 400 without a call, TestFaults checks). bdr has no cutusage: Bedrock
// sends the usage in metadata, the stream's last frame, after messageStop, so no stream is cut
// after its usage and before its end. azr (Azure on a dated api_version) is passed through by
// chat and embeddings and translated elsewhere, Responses to Chat Completions. vgm is vtx's
// provider with Gemini models (Vertex's generateContent, streamGenerateContent, :predict),
// translated everywhere.
var providers = []string{"oai", "ant", "gem", "vtx", "bdr", "azr", "vgm"}

// modelOf is the model that plays fault on provider p: Vertex picks Claude by the model's
// name, so vtx's models are Claude ids, with Vertex's @date, and vgm's are any other name;
// bdr's are Bedrock model ids, whose ':' tracegate escapes in the path it signs.
func modelOf(p, fault string) string {
	switch p {
	case "vtx":
		return "vtx/claude-" + fault + "@20250929"
	case "bdr":
		return "bdr/anthropic.claude-" + fault + "-v1:0"
	}
	if p == "vgm" { // the same provider: a model not named claude* is Gemini
		return "vtx/" + fault
	}
	return p + "/" + fault
}

// outcome is what a faulty call must end as.
type outcome struct {
	code     string // the run API's code in the log; "" for a success
	attempts int    // upstream requests it must cost; 0 = not checked
	// usage: the failure's log line must carry the tokens received before the break.
	usage bool
	// said, when set, is what the provider said, which the failure's log line must pass on:
	// an error read as the provider's, not as a stream that merely stopped.
	said string
}

// TestFaults drives every fault through every route and provider against a real process.
func TestFaults(t *testing.T) {
	g := startGateway(t, "stdout")
	cases := []struct {
		fault      string
		streamOnly bool
		callOnly   bool // not for streams
		want       outcome
	}{
		{fault: "ok", want: outcome{attempts: 1}},
		{fault: "garbage", want: outcome{code: "PROVIDER_ERROR", attempts: 1}},
		{fault: "huge", callOnly: true, want: outcome{code: "PROVIDER_ERROR", attempts: 1}},
		{fault: "truncate", want: outcome{code: "PROVIDER_ERROR"}},
		{fault: "reset", want: outcome{code: "PROVIDER_ERROR"}},
		{fault: "429", want: outcome{code: "PROVIDER_ERROR", attempts: 3, said: "fault 429"}},
		{fault: "529", want: outcome{code: "PROVIDER_ERROR", attempts: 3, said: "fault 529"}},
		{fault: "errevent", streamOnly: true, want: outcome{code: "PROVIDER_ERROR", attempts: 1, said: "fault errevent"}},
		{fault: "stall", streamOnly: true, want: outcome{code: "TIMEOUT", attempts: 1}},
		{fault: "drip-5", streamOnly: true, want: outcome{attempts: 1}},
		// 30 chunks 50 ms apart outlast the 1s timeout: a live stream is not cut by a clock.
		{fault: "drip-30", streamOnly: true, want: outcome{attempts: 1}},
		{fault: "cutusage", streamOnly: true, want: outcome{code: "PROVIDER_ERROR", attempts: 1, usage: true}},
		// timeout 1s, retried within retry.max_elapsed 3s: at most 3 attempts, then 504.
		{fault: "hang", want: outcome{code: "TIMEOUT"}},
	}
	applicable, ran := 0, 0
	for _, r := range routes {
		for _, p := range r.providersOf() {
			for _, c := range cases {
				if (c.streamOnly && !r.stream) || (c.callOnly && r.stream) || r.skip[p+"/"+c.fault] {
					continue
				}
				applicable++
				t.Run(r.name+"/"+p+"/"+c.fault, func(t *testing.T) {
					ran++
					g.t = t
					g.check(t, r, p, c.fault, c.want)
				})
			}
		}
	}
	for _, r := range routes {
		for _, p := range providers {
			if r.only != nil && !slices.Contains(r.only, p) {
				t.Run(r.name+"/"+p+"/refused", func(t *testing.T) {
					g.t = t
					g.checkRefused(t, r, p)
				})
			}
		}
	}
	g.t = t
	if ran < applicable {
		return // -run chose some cases: the kinds below may not all have occurred
	}
	// Failures, mid-stream ones included, are marked on their attempt spans by kind; Gemini's
	// errors by their canonical status (429, 529 as 503, errevent), Bedrock's by exception
	// (429, 529 as 503, errevent).
	for _, typ := range []string{"stream_truncated", "malformed_reply", "timeout", "connection_error", "server_error", "overloaded_error",
		"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "ThrottlingException", "ServiceUnavailableException", "ModelStreamErrorException"} {
		waitFor(t, "an attempt span with error.type "+typ, func() bool {
			for _, s := range g.spanAttrs() {
				if s["error.type"] == typ && s["gen_ai.request.model"] != "" && strings.HasPrefix(s["_name"], "chat ") {
					return true
				}
			}
			return false
		})
	}
}

// check sends one request and compares its end with want: the reply (status, error event,
// success terminator), the log line, and the upstream requests it cost.
func (g *gateway) check(t *testing.T, r route, provider, model string, want outcome) {
	t.Helper()
	fault, _, _ := strings.Cut(model, "-")
	before, _ := g.up.Counts(fault)
	req, _ := http.NewRequest(http.MethodPost, g.base+r.path, strings.NewReader(r.body(modelOf(provider, model))))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	traceID := traceIDOf(resp.Header.Get("traceparent"))
	events := readReply(t, resp)
	started := r.stream && resp.StatusCode == http.StatusOK
	done := started && len(events) > 0 && r.done(events[len(events)-1])
	for _, e := range events {
		if started && e != "[DONE]" && !json.Valid([]byte(e)) {
			t.Fatalf("a stream relayed an event that is not JSON: %q", e)
		}
	}
	switch {
	case want.code == "" && resp.StatusCode != http.StatusOK:
		t.Fatalf("status %d, want 200: %v", resp.StatusCode, events)
	case want.code == "" && r.stream && !done:
		t.Fatalf("a whole stream must end with its terminator: %v", events)
	case want.code != "" && started && done:
		t.Fatalf("a broken stream ended with its success terminator: %v", events)
	case want.code != "" && started && !strings.Contains(events[len(events)-1], `"error"`):
		t.Fatalf("a broken stream must end with an error event: %v", events)
	case want.code != "" && !started && resp.StatusCode < 400:
		t.Fatalf("status %d for a failed call: %v", resp.StatusCode, events)
	}
	if want.code != "" {
		var line map[string]any
		waitFor(t, "the failure's log line", func() bool { line = g.logOfTrace(traceID); return line != nil })
		if line["code"] != want.code {
			t.Fatalf("logged code %v, want %s (%v)", line["code"], want.code, line)
		}
		if want.usage && (line["input_tokens"] != float64(5) || line["output_tokens"] != float64(3)) {
			t.Fatalf("the usage received before the break is not logged: %v", line)
		}
		if msg, _ := line["error"].(string); want.said != "" && !strings.Contains(msg, want.said) {
			t.Fatalf("the logged error does not pass on the provider's %q: %v", want.said, line)
		}
	}
	if after, _ := g.up.Counts(fault); want.attempts > 0 && after-before != want.attempts {
		t.Fatalf("%d upstream requests, want %d", after-before, want.attempts)
	}
}

// checkRefused sends route r to provider p, which r's only leaves out because p has no such
// API: tracegate must answer 400 without calling it.
func (g *gateway) checkRefused(t *testing.T, r route, p string) {
	t.Helper()
	before, _ := g.up.Counts("ok")
	status, body, err := g.post(context.Background(), r.path, r.body(modelOf(p, "ok")))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", status, body)
	}
	if after, _ := g.up.Counts("ok"); after != before {
		t.Fatalf("%d upstream requests, want none", after-before)
	}
}

// readReply reads a reply: the SSE data payloads of a stream, or the body of any other reply
// as one element.
func readReply(t *testing.T, resp *http.Response) []string {
	t.Helper()
	var out []string
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return []string{b.String()}
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream read: %v", err)
	}
	return out
}

// traceIDOf returns the last 16 hex digits of traceparent's trace id: the log's trace_id
// ends with them in its short and long forms alike.
func traceIDOf(traceparent string) string {
	if parts := strings.Split(traceparent, "-"); len(parts) == 4 && len(parts[1]) == 32 {
		return parts[1][16:]
	}
	return "no traceparent"
}

// logOfTrace returns the log line of the request whose trace id ends with suffix.
func (g *gateway) logOfTrace(suffix string) map[string]any {
	for _, l := range g.logs.lines() {
		if id, ok := l["trace_id"].(string); ok && strings.HasSuffix(id, suffix) {
			return l
		}
	}
	return nil
}

// TestClientGoneCancelsTheUpstreamCall leaves every route while the provider is working:
// before its reply headers (hang) and, for streams, mid-stream (stall). The upstream call
// must be dropped, nothing retried, and the request recorded as 499 ABORTED.
func TestClientGoneCancelsTheUpstreamCall(t *testing.T) {
	g := startGateway(t, "stdout")
	for _, r := range routes {
		faults := []string{"hang"}
		if r.stream {
			faults = append(faults, "stall")
		}
		for _, p := range r.providersOf() {
			for _, fault := range faults {
				t.Run(r.name+"/"+p+"/"+fault, func(t *testing.T) {
					g.t = t
					before, _ := g.up.Counts(fault)
					abortedBefore := len(g.logLines("code", "ABORTED"))
					drain(g.up.Arrived)
					drain(g.up.Dropped)
					ctx, cancel := context.WithCancel(context.Background())
					go func() { <-g.up.Arrived; time.Sleep(20 * time.Millisecond); cancel() }()
					_, _, err := g.post(ctx, r.path, r.body(modelOf(p, fault)))
					left := time.Now()
					if err == nil {
						t.Fatal("the call returned before the client left")
					}
					<-g.up.Dropped // the upstream saw its call dropped (waits forever if not: go test -timeout)
					t.Logf("upstream call dropped %v after the client left", time.Since(left).Round(time.Millisecond))
					waitFor(t, "the ABORTED log line", func() bool { return len(g.logLines("code", "ABORTED")) > abortedBefore })
					if l := g.logLines("code", "ABORTED"); l[len(l)-1]["status"] != float64(499) {
						t.Fatalf("aborted request logged with status %v, want 499", l[len(l)-1]["status"])
					}
					if after, _ := g.up.Counts(fault); after-before != 1 {
						t.Fatalf("%d upstream requests, want 1: nothing may be retried for a client that left", after-before)
					}
				})
			}
		}
	}
	// The run spans record the abort too (error.type ABORTED); the stdout exporter batches.
	waitFor(t, "ABORTED run spans", func() bool {
		n := 0
		for _, s := range g.spanAttrs() {
			if s["error.type"] == "ABORTED" {
				n++
			}
		}
		return n >= 8
	})
}

func drain(c chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// logLines returns the log lines whose field key has value want.
func (g *gateway) logLines(key, want string) []map[string]any {
	var out []map[string]any
	for _, l := range g.logs.lines() {
		if s, ok := l[key].(string); ok && s == want {
			out = append(out, l)
		}
	}
	return out
}
