package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	spanIDWire      = regexp.MustCompile(`^sp_[0-9a-f]{16}$`)
	shortTraceWire  = regexp.MustCompile(`^tr_[0-9a-f]{16}$`)
	fullTraceWire   = regexp.MustCompile(`^tr_[0-9a-f]{32}$`)
	traceparentWire = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)
)

// runReply is the run API's RunResult.
type runReply struct {
	Text          *string `json:"text"`
	SpanID        string  `json:"spanId"`
	TraceID       string  `json:"traceId"`
	PromptVersion int     `json:"promptVersion"`
	LatencyMs     *int64  `json:"latencyMs"`
	Usage         *struct {
		InputTokens  int64 `json:"inputTokens"`
		OutputTokens int64 `json:"outputTokens"`
		TotalTokens  int64 `json:"totalTokens"`
	} `json:"usage"`
	Cost         *float64 `json:"cost"`
	FinishReason string   `json:"finishReason"`
	ToolCalls    []struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"toolCalls"`
	Messages []json.RawMessage `json:"messages"`
}

// chatReply is the part of an OpenAI chat completion the test reads.
type chatReply struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		TotalTokens      int64 `json:"total_tokens"`
	} `json:"usage"`
}

type trafficRun struct {
	base string
	hc   *http.Client
	st   *state
}

func traffic(args []string) error {
	fs := flag.NewFlagSet("traffic", flag.ContinueOnError)
	base := fs.String("tracegate", "", "tracegate base URL, e.g. http://127.0.0.1:18080")
	statePath := fs.String("state", "", "file to write the expected spans to")
	tally := fs.String("tally", "", "file to append \"passed failed\" to")
	service := fs.String("service", "", "spans.service_name tracegate was started with")
	model := fs.String("model", "mock-1", "the priced mock model")
	priceIn := fs.Float64("price-in", 0, "USD per input token configured for -model")
	priceOut := fs.Float64("price-out", 0, "USD per output token configured for -model")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *statePath == "" || *service == "" || *priceIn <= 0 || *priceOut <= 0 {
		return fmt.Errorf("-tracegate, -state, -service, -price-in and -price-out are required")
	}
	tr := &trafficRun{
		base: strings.TrimRight(*base, "/"),
		hc:   &http.Client{Timeout: 15 * time.Second},
		st:   &state{Service: *service, Model: *model, PriceIn: *priceIn, PriceOut: *priceOut},
	}
	s := &suite{tallyPath: *tally}
	session := "sess_" + randomHex(6)

	var run1, weather1 *runSpan
	var weather1Messages []json.RawMessage
	var weather1Call struct{ id, name string }

	s.run("run API: welcome-email run 1 starts a new trace", func(t *test) {
		body := map[string]any{
			"variables": map[string]string{"name": "Alice", "product": "Tracia"},
			"tags":      []string{"e2e", "onboarding"},
			"userId":    "user_e2e",
			"sessionId": session,
		}
		r, rs := tr.run(t, "welcome-email", body)
		t.check(shortTraceWire.MatchString(r.TraceID), "traceId %q: a new trace must be tr_ + 16 hex", r.TraceID)
		t.check(r.PromptVersion == 2, "promptVersion %d, want 2 (currentVersion)", r.PromptVersion)
		t.check(r.FinishReason == "stop", "finishReason %q, want stop", r.FinishReason)
		t.check(r.Text != nil && strings.Contains(*r.Text, "Alice") && strings.Contains(*r.Text, "Tracia"),
			"text %v should echo the rendered template", r.Text)
		t.check(len(r.Messages) == 3, "%d messages, want system + user + assistant", len(r.Messages))
		rs.Label, rs.ParentSpanID = "run 1 (welcome-email)", ""
		rs.UserID, rs.SessionID, rs.Tags, rs.Variables = "user_e2e", session, []string{"e2e", "onboarding"}, []string{"name", "product"}
		run1 = tr.add(rs)
	})

	s.run("run API: welcome-email run 2 joins run 1's trace via traceId + parentSpanId", func(t *test) {
		t.require(run1 != nil, "skipped: run 1 failed")
		body := map[string]any{
			"variables":    map[string]string{"name": "Bob", "product": "Tracia"},
			"traceId":      "tr_" + run1.ShortTraceID,
			"parentSpanId": "sp_" + run1.SpanID,
		}
		r, rs := tr.run(t, "welcome-email", body)
		t.check(r.TraceID == "tr_"+run1.ShortTraceID, "traceId %q, want run 1's tr_%s", r.TraceID, run1.ShortTraceID)
		t.check(rs.SpanID != run1.SpanID, "run 2 reused run 1's span id %s", rs.SpanID)
		t.check(r.FinishReason == "stop", "finishReason %q, want stop", r.FinishReason)
		rs.Label, rs.ParentSpanID, rs.Variables = "run 2 (welcome-email)", run1.SpanID, []string{"name", "product"}
		tr.add(rs)
	})

	s.run("run API: weather-assistant turn 1 answers with a get_weather tool call", func(t *test) {
		body := map[string]any{"variables": map[string]string{"question": "What is the weather in Paris?"}}
		r, rs := tr.run(t, "weather-assistant", body)
		t.check(shortTraceWire.MatchString(r.TraceID), "traceId %q: a new trace must be tr_ + 16 hex", r.TraceID)
		t.check(r.FinishReason == "tool_calls", "finishReason %q, want tool_calls", r.FinishReason)
		t.check(r.Text == nil, "text %q, want null when the model only calls tools", deref(r.Text))
		t.require(len(r.ToolCalls) == 1, "%d toolCalls, want 1", len(r.ToolCalls))
		c := r.ToolCalls[0]
		var args map[string]any
		t.check(c.Name == "get_weather" && c.ID != "", "tool call %q id %q, want get_weather with an id", c.Name, c.ID)
		t.check(json.Unmarshal(c.Arguments, &args) == nil && args["location"] != nil,
			"tool call arguments %s: want a JSON object with location", c.Arguments)
		t.require(len(r.Messages) == 3, "%d messages, want system + user + assistant", len(r.Messages))
		t.check(bytes.Contains(r.Messages[2], []byte(`"tool_call"`)), "assistant message %s carries no tool_call part", r.Messages[2])
		rs.Label, rs.Variables = "weather turn 1 (tool call)", []string{"question"}
		weather1 = tr.add(rs)
		weather1Messages = r.Messages
		weather1Call.id, weather1Call.name = c.ID, c.Name
	})

	s.run("run API: weather-assistant turn 2 continues with messages + a tool result", func(t *test) {
		t.require(weather1 != nil, "skipped: turn 1 failed")
		tool, err := json.Marshal(map[string]string{
			"role": "tool", "toolCallId": weather1Call.id, "toolName": weather1Call.name,
			"content": `{"location":"Paris","temperature_c":21,"sky":"clear"}`,
		})
		t.noErr(err, "encode tool message")
		body := map[string]any{
			"traceId":      "tr_" + weather1.ShortTraceID,
			"parentSpanId": "sp_" + weather1.SpanID,
			"messages":     append(slices.Clone(weather1Messages), tool),
		}
		r, rs := tr.run(t, "weather-assistant", body)
		t.check(r.TraceID == "tr_"+weather1.ShortTraceID, "traceId %q, want turn 1's tr_%s", r.TraceID, weather1.ShortTraceID)
		t.check(r.FinishReason == "stop", "finishReason %q, want stop after the tool result", r.FinishReason)
		t.check(r.Text != nil && strings.Contains(*r.Text, "temperature_c"), "text %q should use the tool result", deref(r.Text))
		t.check(len(r.ToolCalls) == 0, "toolCalls %d, want none", len(r.ToolCalls))
		t.check(len(r.Messages) == 5, "%d messages, want the 4 sent + the assistant reply", len(r.Messages))
		rs.Label, rs.ParentSpanID = "weather turn 2 (tool result)", weather1.SpanID
		tr.add(rs)
	})

	// The OpenAI-compatible calls join a trace the test chooses, as an instrumented app would.
	chatTrace := randomHex(16)
	s.run("OpenAI-compatible: non-streaming chat completion joins the traceparent's trace", func(t *test) {
		parent := randomHex(8)
		body := `{"model":"` + *model + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello to the end-to-end test"}]}`
		hdr := map[string]string{
			"traceparent":            "00-" + chatTrace + "-" + parent + "-01",
			"X-Tracegate-Tags":       "e2e, openai",
			"X-Tracegate-User-Id":    "user_e2e",
			"X-Tracegate-Session-Id": session,
		}
		resp, raw := tr.post(t, "/v1/chat/completions", hdr, []byte(body))
		t.require(resp.StatusCode == http.StatusOK, "status %d, body %s", resp.StatusCode, raw)
		rs := tr.chatHeaders(t, resp, chatTrace)
		var c chatReply
		t.noErr(json.Unmarshal(raw, &c), "decode chat completion "+string(raw))
		t.require(len(c.Choices) == 1 && c.Choices[0].Message.Content != nil, "want one choice with content: %s", raw)
		t.check(strings.Contains(*c.Choices[0].Message.Content, "hello"), "content %q should echo the user message", *c.Choices[0].Message.Content)
		t.check(c.Choices[0].FinishReason == "stop", "finish_reason %q, want stop", c.Choices[0].FinishReason)
		t.require(c.Usage != nil && c.Usage.PromptTokens > 0 && c.Usage.CompletionTokens > 0, "usage missing or zero: %s", raw)
		want := float64(c.Usage.PromptTokens)*tr.st.PriceIn + float64(c.Usage.CompletionTokens)*tr.st.PriceOut
		costHdr := resp.Header.Get("X-Tracegate-Cost-Usd")
		cost, err := strconv.ParseFloat(costHdr, 64)
		t.check(err == nil && cost > 0 && approx(cost, want), "X-Tracegate-Cost-Usd %q, want %g (usage x the configured prices)", costHdr, want)
		rs.Label, rs.ParentSpanID = "chat completion", parent
		rs.UsageKnown, rs.InputTokens, rs.OutputTokens = true, c.Usage.PromptTokens, c.Usage.CompletionTokens
		rs.CostKnown, rs.Cost, rs.FinishReason = true, want, "stop"
		rs.UserID, rs.SessionID, rs.Tags = "user_e2e", session, []string{"e2e", "openai"}
		tr.add(rs)
	})

	s.run("OpenAI-compatible: streaming chat completion joins the traceparent's trace", func(t *test) {
		parent := randomHex(8)
		body := `{"model":"` + *model + `","stream":true,"messages":[{"role":"user","content":"Stream a greeting for the end-to-end test"}]}`
		hdr := map[string]string{"traceparent": "00-" + chatTrace + "-" + parent + "-01"}
		resp, raw := tr.post(t, "/v1/chat/completions", hdr, []byte(body))
		t.require(resp.StatusCode == http.StatusOK, "status %d, body %s", resp.StatusCode, raw)
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		t.check(ct == "text/event-stream", "Content-Type %q, want text/event-stream", resp.Header.Get("Content-Type"))
		rs := tr.chatHeaders(t, resp, chatTrace)
		var text strings.Builder
		finish, done, usageChunks, chunks := "", false, 0, 0
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			t.check(!done, "data after [DONE]: %s", data)
			if data == "[DONE]" {
				done = true
				continue
			}
			chunks++
			var ch struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
				Usage json.RawMessage `json:"usage"`
			}
			if !t.check(json.Unmarshal([]byte(data), &ch) == nil, "bad chunk %s", data) {
				continue
			}
			for _, c := range ch.Choices {
				text.WriteString(c.Delta.Content)
				if c.FinishReason != nil && *c.FinishReason != "" {
					finish = *c.FinishReason
				}
			}
			if len(ch.Usage) > 0 && string(ch.Usage) != "null" {
				usageChunks++
			}
		}
		t.check(done, "stream did not end with data: [DONE]")
		t.check(chunks > 1, "%d chunks, want several", chunks)
		t.check(strings.Contains(text.String(), "greeting"), "streamed text %q should echo the user message", text.String())
		t.check(finish == "stop", "finish_reason %q, want stop", finish)
		t.check(usageChunks == 0, "%d usage chunks forwarded, though the client did not ask for stream_options.include_usage", usageChunks)
		// The client saw no usage: the span must still carry it (tracegate asks the upstream).
		rs.Label, rs.ParentSpanID, rs.Stream, rs.FinishReason = "streaming chat completion", parent, true, "stop"
		tr.add(rs)
	})

	tr.spansAPITraffic(s)

	if err := tr.st.save(*statePath); err != nil {
		return err
	}
	return s.finish()
}

// run posts a run and checks what every successful RunResult must hold.
func (tr *trafficRun) run(t *test, slug string, body map[string]any) (*runReply, *runSpan) {
	b, err := json.Marshal(body)
	t.noErr(err, "encode body")
	resp, raw := tr.post(t, "/api/v1/prompts/"+slug+"/run", nil, b)
	t.require(resp.StatusCode == http.StatusOK, "status %d, body %s", resp.StatusCode, raw)
	var r runReply
	t.noErr(json.Unmarshal(raw, &r), "decode RunResult "+string(raw))
	t.require(spanIDWire.MatchString(r.SpanID), "spanId %q, want sp_ + 16 hex", r.SpanID)
	var traceHex, short string
	switch {
	case shortTraceWire.MatchString(r.TraceID):
		short = r.TraceID[3:]
		traceHex = pad32(short)
	case fullTraceWire.MatchString(r.TraceID):
		traceHex = r.TraceID[3:]
	default:
		t.require(false, "traceId %q, want tr_ + 16 or 32 hex", r.TraceID)
	}
	tp := resp.Header.Get("traceparent")
	t.check(tp == "00-"+traceHex+"-"+r.SpanID[3:]+"-01", "traceparent header %q does not name the run span (trace %s, span %s)", tp, traceHex, r.SpanID[3:])
	t.require(r.Usage != nil && r.Usage.InputTokens > 0 && r.Usage.OutputTokens > 0, "usage missing or zero: %s", raw)
	t.check(r.Usage.TotalTokens == r.Usage.InputTokens+r.Usage.OutputTokens, "usage.totalTokens %d != input + output", r.Usage.TotalTokens)
	t.check(r.LatencyMs != nil && *r.LatencyMs >= 0, "latencyMs missing")
	want := float64(r.Usage.InputTokens)*tr.st.PriceIn + float64(r.Usage.OutputTokens)*tr.st.PriceOut
	t.require(r.Cost != nil, "cost missing")
	t.check(*r.Cost > 0 && math64Near(*r.Cost, want), "cost %g, want %g (usage x the configured prices of %s)", *r.Cost, want, tr.st.Model)
	return &r, &runSpan{
		Name:         "run " + slug,
		Slug:         slug,
		Version:      r.PromptVersion,
		TraceID:      traceHex,
		ShortTraceID: short,
		SpanID:       r.SpanID[3:],
		UsageKnown:   true,
		InputTokens:  r.Usage.InputTokens,
		OutputTokens: r.Usage.OutputTokens,
		Cost:         want,
		CostKnown:    true,
		FinishReason: r.FinishReason,
	}
}

// math64Near compares a reply's cost, rounded to 1e-12 USD, with the exact price.
func math64Near(got, want float64) bool {
	d := got - want
	return d < 1e-11 && d > -1e-11
}

// chatHeaders checks the OpenAI endpoint's linking headers and starts the expected span.
func (tr *trafficRun) chatHeaders(t *test, resp *http.Response, wantTrace string) *runSpan {
	sid := resp.Header.Get("X-Tracegate-Span-Id")
	t.require(spanIDWire.MatchString(sid), "X-Tracegate-Span-Id %q, want sp_ + 16 hex", sid)
	tp := resp.Header.Get("traceparent")
	m := traceparentWire.FindStringSubmatch(tp)
	t.require(m != nil, "traceparent header %q is not a sampled version-00 traceparent", tp)
	t.check(m[1] == wantTrace, "traceparent trace id %s, want the request's %s", m[1], wantTrace)
	t.check(m[2] == sid[3:], "traceparent span id %s != X-Tracegate-Span-Id %s", m[2], sid)
	return &runSpan{Name: "chat " + tr.st.Model, TraceID: wantTrace, SpanID: sid[3:]}
}

func (tr *trafficRun) add(rs *runSpan) *runSpan {
	tr.st.Runs = append(tr.st.Runs, *rs)
	return rs
}

func (tr *trafficRun) post(t *test, path string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	req, err := http.NewRequest(http.MethodPost, tr.base+path, bytes.NewReader(body))
	t.noErr(err, "build request")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := tr.hc.Do(req)
	t.noErr(err, "POST "+path)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	t.noErr(err, "read reply of POST "+path)
	return resp, raw
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if b[0] == 0 { // never the all-zero id, and keep 128-bit ids visibly 128-bit
		b[0] = 1
	}
	return hex.EncodeToString(b)
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
