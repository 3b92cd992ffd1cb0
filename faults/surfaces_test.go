package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// surface is an inbound call that reaches a provider but is not a model call: count_tokens
// and the stored-response endpoints. They make no spans and log no line, so their outcome is
// checked on the reply and on the request's code in tracegate_requests_total; they are not in
// routes because none of the streaming faults apply and their replies are not model replies.
type surface struct {
	name     string
	provider string
	method   string
	// path is the inbound path for a fault; body, when set, the request body.
	path func(fault string) string
	body func(model string) string
	// route is the metrics route; anthropic says the error shape is Anthropic's, not OpenAI's.
	route     string
	anthropic bool
	// retried: the call goes through the dispatcher's retries (count_tokens does; a stored
	// response is one exchange, passed back as it came).
	retried bool
}

func countTokensBody(model string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
}

var surfaces = []surface{
	{name: "count_tokens", provider: "ant", method: http.MethodPost, path: func(string) string { return "/v1/messages/count_tokens" },
		body: countTokensBody, route: "messages", anthropic: true, retried: true},
	{name: "count_tokens", provider: "gem", method: http.MethodPost, path: func(string) string { return "/v1/messages/count_tokens" },
		body: countTokensBody, route: "messages", anthropic: true, retried: true},
	// Vertex's Claude: passed through to count-tokens:rawPredict, the fault named by the body's model.
	{name: "count_tokens", provider: "vtx", method: http.MethodPost, path: func(string) string { return "/v1/messages/count_tokens" },
		body: countTokensBody, route: "messages", anthropic: true, retried: true},
	// Bedrock: translated to CountTokens (/model/{id}/count-tokens), the fault named by the path's model id.
	{name: "count_tokens", provider: "bdr", method: http.MethodPost, path: func(string) string { return "/v1/messages/count_tokens" },
		body: countTokensBody, route: "messages", anthropic: true, retried: true},
	// Vertex's Gemini: translated to :countTokens, the fault named by the model in the URL.
	{name: "count_tokens", provider: "vgm", method: http.MethodPost, path: func(string) string { return "/v1/messages/count_tokens" },
		body: countTokensBody, route: "messages", anthropic: true, retried: true},
	// The owner of resp_{fault} is not known to this instance: the first provider with the
	// Responses API, oai, is asked.
	{name: "stored-get", provider: "oai", method: http.MethodGet, path: func(f string) string { return "/v1/responses/resp_" + f }, route: "responses"},
	{name: "stored-delete", provider: "oai", method: http.MethodDelete, path: func(f string) string { return "/v1/responses/resp_" + f }, route: "responses"},
}

// surfaceOutcome is what a fault on a surface must end as.
type surfaceOutcome struct {
	status int
	// body, when set, is the exact reply body; else errType is the error's type in the
	// surface's shape ("" for no error check).
	body    string
	errType string
	code    string // the request's code in tracegate_requests_total
	// attempts is the upstream requests it must cost (0: not checked).
	attempts int
	// said is what the provider said, which the error's message must pass on.
	said string
	// cut: the upstream's reply must have been cut off by tracegate (a huge body read no
	// further than max_response_bytes).
	cut bool
	// within bounds the call's time.
	within time.Duration
}

// outcomeOf is what fault must end as on s, from the README ("The Anthropic Messages
// endpoint", "The Responses API", "Timeouts, limits and faults").
func (s surface) outcomeOf(fault string) surfaceOutcome {
	openAIErr := map[string]string{`429`: `{"error":{"message":"fault 429","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`,
		`529`: `{"error":{"message":"fault 529","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`}
	tries := 1
	if s.retried {
		tries = 3 // retry.max_attempts
	}
	switch fault {
	case "ok":
		if !s.anthropic {
			if s.method == http.MethodDelete {
				return surfaceOutcome{status: 200, body: `{"id":"resp_ok","object":"response","deleted":true}`, attempts: 1}
			}
			return surfaceOutcome{status: 200, body: `{"id":"resp_ok","object":"response","created_at":1,"status":"completed","model":"gpt-fault","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"fine","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}`, attempts: 1}
		}
		return surfaceOutcome{status: 200, body: `{"input_tokens":5}`, attempts: 1}
	case "hang":
		// timeout 1s; count_tokens retries within retry.max_elapsed 3s.
		o := surfaceOutcome{status: 504, errType: "timeout_error", code: "TIMEOUT", within: 6 * time.Second}
		if !s.retried {
			o.attempts, o.within = 1, 3*time.Second
		}
		return o
	case "reset", "truncate":
		// A connection error: count_tokens retries it. A stored response's GET or DELETE is
		// not retried by tracegate, but net/http may replay an idempotent request once on a
		// reused connection that broke before any reply: not counted.
		o := surfaceOutcome{status: 502, errType: s.pick("api_error", "upstream_error"), code: "PROVIDER_ERROR"}
		if s.retried {
			o.attempts = tries
		}
		return o
	case "garbage":
		// A 2xx that is not JSON is 502 on every route, stored responses included ("Timeouts,
		// limits and faults": GET/DELETE /v1/responses/{id} are among its routes).
		return surfaceOutcome{status: 502, errType: s.pick("api_error", "upstream_error"), code: "PROVIDER_ERROR", attempts: 1}
	case "huge":
		return surfaceOutcome{status: 502, errType: s.pick("api_error", "upstream_error"), code: "PROVIDER_ERROR", attempts: 1, cut: true}
	case "429":
		if !s.anthropic {
			return surfaceOutcome{status: 429, body: openAIErr["429"], code: "", attempts: 1}
		}
		return surfaceOutcome{status: 429, errType: "rate_limit_error", code: "PROVIDER_ERROR", attempts: tries, said: "fault 429"}
	case "529":
		if !s.anthropic {
			// Passed back as it came: OpenAI has no 529, but a stored-response reply keeps
			// the provider's status and body.
			return surfaceOutcome{status: 529, body: openAIErr["529"], code: "", attempts: 1}
		}
		// Gemini's overload is 503 UNAVAILABLE, Bedrock's 503 ServiceUnavailableException; all are
		// Anthropic's 529 overloaded_error.
		return surfaceOutcome{status: 529, errType: "overloaded_error", code: "PROVIDER_ERROR", attempts: tries, said: "fault 529"}
	}
	panic("no outcome for " + fault)
}

func (s surface) pick(anthropic, openAI string) string {
	if s.anthropic {
		return anthropic
	}
	return openAI
}

// request builds the surface's request for fault.
func (s surface) request(ctx context.Context, base, fault string) *http.Request {
	var body io.Reader = http.NoBody
	if s.body != nil {
		body = strings.NewReader(s.body(modelOf(s.provider, fault)))
	}
	req, _ := http.NewRequestWithContext(ctx, s.method, base+s.path(fault), body)
	if s.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// TestSurfaceFaults drives the call faults through count_tokens (Anthropic and Vertex Claude
// passthrough, Gemini countTokens, Bedrock CountTokens) and the stored-response GET and DELETE (OpenAI).
func TestSurfaceFaults(t *testing.T) {
	g := startGateway(t, "none")
	for _, s := range surfaces {
		for _, fault := range []string{"ok", "hang", "reset", "truncate", "garbage", "huge", "429", "529"} {
			t.Run(s.name+"/"+s.provider+"/"+fault, func(t *testing.T) {
				g.t = t
				g.checkSurface(t, s, fault, s.outcomeOf(fault))
			})
		}
	}
}

func (g *gateway) checkSurface(t *testing.T, s surface, fault string, want surfaceOutcome) {
	t.Helper()
	before, droppedBefore := g.up.Counts(fault)
	status := strconv.Itoa(want.status)
	counted := g.requestCount(s.route, status, want.code)
	start := time.Now()
	resp, err := client.Do(s.request(context.Background(), g.base, fault))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want.status {
		t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, want.status, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if want.body != "" && string(data) != want.body {
		t.Fatalf("body\n%s\nwant\n%s", data, want.body)
	}
	if want.errType != "" {
		typ, msg := errorFields(t, data, s.anthropic)
		if typ != want.errType {
			t.Fatalf("error type %q, want %q: %s", typ, want.errType, data)
		}
		if !strings.Contains(msg, want.said) {
			t.Fatalf("the error does not pass on the provider's %q: %s", want.said, data)
		}
	}
	if want.within > 0 && took > want.within {
		t.Fatalf("took %v, want at most %v", took, want.within)
	}
	waitFor(t, "the request counted with its status and code", func() bool {
		return g.requestCount(s.route, status, want.code) > counted
	})
	after, _ := g.up.Counts(fault)
	if want.attempts > 0 && after-before != want.attempts {
		t.Fatalf("%d upstream requests, want %d", after-before, want.attempts)
	}
	if want.cut {
		waitFor(t, "the upstream's huge reply cut off", func() bool { _, d := g.up.Counts(fault); return d > droppedBefore })
	}
	t.Logf("%d %v, %d upstream requests", resp.StatusCode, took.Round(time.Millisecond), after-before)
}

// errorFields reads an error reply's type and message, failing unless it has the surface's
// shape: Anthropic's {"type":"error","error":{"type","message"}} or OpenAI's
// {"error":{"message","type","param","code"}}.
func errorFields(t *testing.T, data []byte, anthropic bool) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error *struct {
			Type    string           `json:"type"`
			Message string           `json:"message"`
			Param   *json.RawMessage `json:"param"`
			Code    *json.RawMessage `json:"code"`
		} `json:"error"`
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &e); err != nil || e.Error == nil || json.Unmarshal(data, &members) != nil {
		t.Fatalf("not an error body: %s", data)
	}
	var inner map[string]json.RawMessage
	_ = json.Unmarshal(members["error"], &inner)
	if anthropic {
		if e.Type != "error" || len(members) != 2 || len(inner) != 2 {
			t.Fatalf("not Anthropic's error shape: %s", data)
		}
	} else if len(members) != 1 || len(inner) != 4 {
		t.Fatalf("not OpenAI's error shape: %s", data)
	}
	if e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("an error without its type or message: %s", data)
	}
	return e.Error.Type, e.Error.Message
}

// requestCount reads tracegate_requests_total for route, status and code.
func (g *gateway) requestCount(route, status, code string) float64 {
	g.t.Helper()
	resp, err := client.Get(g.base + "/metrics")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	sample := `tracegate_requests_total{code="` + code + `",route="` + route + `",status="` + status + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestClientGoneCancelsTheSurfaceCall leaves count_tokens and the stored-response calls while
// the provider hangs: the upstream call must be dropped, not retried, and the request counted
// as 499 ABORTED.
func TestClientGoneCancelsTheSurfaceCall(t *testing.T) {
	g := startGateway(t, "none")
	for _, s := range surfaces {
		t.Run(s.name+"/"+s.provider+"/hang", func(t *testing.T) {
			g.t = t
			before, _ := g.up.Counts("hang")
			aborted := g.requestCount(s.route, "499", "ABORTED")
			drain(g.up.Arrived)
			drain(g.up.Dropped)
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-g.up.Arrived; time.Sleep(20 * time.Millisecond); cancel() }()
			resp, err := client.Do(s.request(ctx, g.base, "hang"))
			left := time.Now()
			if err == nil {
				resp.Body.Close()
				t.Fatalf("the call returned %d before the client left", resp.StatusCode)
			}
			select {
			case <-g.up.Dropped:
			case <-time.After(900 * time.Millisecond): // under the provider's 1s timeout
				t.Fatal("the upstream call was not dropped when the client left")
			}
			t.Logf("upstream call dropped %v after the client left", time.Since(left).Round(time.Millisecond))
			waitFor(t, "the request counted as 499 ABORTED", func() bool { return g.requestCount(s.route, "499", "ABORTED") > aborted })
			if after, _ := g.up.Counts("hang"); after-before != 1 {
				t.Fatalf("%d upstream requests, want 1: nothing may be retried for a client that left", after-before)
			}
		})
	}
}
