package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/tracegate/tracegate/pricing"
	"go.opentelemetry.io/otel/trace"
)

// anthropicClient is the official Anthropic Go SDK pointed at the harness, with the caller's
// own key (which must never reach a provider) and no SDK retries, so each test sees one try.
func anthropicClient(h *harness, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(h.base), option.WithAPIKey("sk-ant-caller-key-must-not-leak"), option.WithMaxRetries(0),
	}, opts...)...)
}

var claudeWeatherTool = anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
	Name:        "get_weather",
	Description: anthropic.String("Get the current weather in a given location"),
	InputSchema: anthropic.ToolInputSchemaParam{
		Properties: map[string]any{"city": map[string]any{"type": "string"}, "units": map[string]any{"type": "string"}},
		Required:   []string{"city"},
	},
}}

func weatherParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 1024,
		System:    []anthropic.TextBlockParam{{Text: "You are terse.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in San Francisco?"))},
		Tools:     []anthropic.ToolUnionParam{claudeWeatherTool},
		Metadata:  anthropic.MetadataParam{UserID: anthropic.String("user-42")},
	}
}

// replyHeaders is an SDK option that keeps the reply's headers in *hdr.
func replyHeaders(hdr *http.Header) option.RequestOption {
	return option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		resp, err := next(r)
		if resp != nil {
			*hdr = resp.Header
		}
		return resp, err
	})
}

// upstreamJSON decodes the n-th body a fake provider received.
func upstreamJSON(t *testing.T, f *fakeUpstream, n int) (upstreamRequest, map[string]any) {
	t.Helper()
	got := f.requests()
	if len(got) <= n {
		t.Fatalf("provider got %d requests, want more than %d", len(got), n)
	}
	var body map[string]any
	if err := json.Unmarshal(got[n].Body, &body); err != nil {
		t.Fatalf("provider body is not JSON: %v: %s", err, got[n].Body)
	}
	return got[n], body
}

// assertNoCallerKey checks the caller's key reached no provider, in any header or the body.
func assertNoCallerKey(t *testing.T, fakes ...*fakeUpstream) {
	t.Helper()
	for _, f := range fakes {
		for _, r := range f.requests() {
			for k, vs := range r.Header {
				for _, v := range vs {
					if strings.Contains(v, "caller-key") {
						t.Errorf("provider got the caller's key in %s: %s", k, v)
					}
				}
			}
			if strings.Contains(string(r.Body), "caller-key") {
				t.Errorf("provider got the caller's key in the body")
			}
		}
	}
}

func TestMessagesPassthroughToAnthropic(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{okReply(t, "anthropic/tool_call.response.json")}})
	var hdr http.Header
	client := anthropicClient(h)
	msg, err := client.Messages.New(context.Background(), weatherParams("anthropic/claude-3-7-sonnet-20250219"),
		option.WithHeader("anthropic-beta", "prompt-caching-2024-07-31"), replyHeaders(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID != "msg_01VLZuPg94y7NULJySZhEDJY" || msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 2 {
		t.Fatalf("reply = %+v", msg)
	}
	tu := msg.Content[1].AsToolUse()
	if tu.ID != "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ" || tu.Name != "get_weather" || !strings.Contains(string(tu.Input), "San Francisco") {
		t.Errorf("tool_use = %+v", tu)
	}
	req, body := upstreamJSON(t, h.anthropic, 0)
	if req.Path != "/v1/messages" || body["model"] != "claude-3-7-sonnet-20250219" {
		t.Errorf("provider got %s model %v", req.Path, body["model"])
	}
	if body["metadata"].(map[string]any)["user_id"] != "user-42" || body["system"].([]any)[0].(map[string]any)["cache_control"] == nil {
		t.Errorf("body was not passed through: %v", body)
	}
	if got := req.Header.Get("Anthropic-Version"); got != "2023-06-01" {
		t.Errorf("anthropic-version = %q", got)
	}
	if got := req.Header.Get("Anthropic-Beta"); got != "prompt-caching-2024-07-31" {
		t.Errorf("anthropic-beta = %q", got)
	}
	if got := req.Header.Get("X-Api-Key"); got != "sk-ant-test-key-0000000000" {
		t.Errorf("provider key = %q", got)
	}
	assertNoCallerKey(t, h.anthropic)
	if cost, err := strconv.ParseFloat(hdr.Get("X-Tracegate-Cost-Usd"), 64); err != nil || cost <= 0 {
		t.Errorf("cost header = %q", hdr.Get("X-Tracegate-Cost-Usd"))
	}
	if !strings.HasPrefix(hdr.Get("X-Tracegate-Span-Id"), "sp_") || hdr.Get("traceparent") == "" {
		t.Errorf("trace headers = %v", hdr)
	}
	run := findSpan(t, h, "chat anthropic/claude-3-7-sonnet-20250219", trace.SpanKindServer)
	if v := attr(run, "gen_ai.usage.input_tokens"); v.AsInt64() != 402 {
		t.Errorf("run span input tokens = %v", v.String())
	}
	if v := attr(run, "user.id"); v.AsString() != "user-42" {
		t.Errorf("user.id = %q", v.String())
	}
	findSpan(t, h, "chat claude-3-7-sonnet-20250219", trace.SpanKindClient)
}

func TestMessagesPassthroughStreamCountsUsage(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{sseReply(t, "anthropic/streaming_tool_call.sse")}})
	client := anthropicClient(h)
	// The beta client sends ?beta=true and the betas header, as Claude Code does.
	stream := client.Beta.Messages.NewStreaming(context.Background(), anthropic.BetaMessageNewParams{
		Model:     "claude-3-7-sonnet-20250219",
		MaxTokens: 256,
		Messages:  []anthropic.BetaMessageParam{anthropic.NewBetaUserMessage(anthropic.NewBetaTextBlock("weather?"))},
		Betas:     []anthropic.AnthropicBeta{"interleaved-thinking-2025-05-14"},
	})
	var acc anthropic.BetaMessage
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.StopReason != anthropic.BetaStopReasonToolUse || len(acc.Content) != 2 || acc.Content[1].Name != "get_weather" {
		t.Fatalf("accumulated = %+v", acc)
	}
	req, body := upstreamJSON(t, h.anthropic, 0)
	if body["stream"] != true || req.Header.Get("Anthropic-Beta") != "interleaved-thinking-2025-05-14" || req.Path != "/v1/messages" {
		t.Errorf("provider got %s %v beta %q", req.Path, body["stream"], req.Header.Get("Anthropic-Beta"))
	}
	run := waitSpan(t, h, "chat claude-3-7-sonnet-20250219", trace.SpanKindServer)
	in, out := attr(run, "gen_ai.usage.input_tokens"), attr(run, "gen_ai.usage.output_tokens")
	if in.AsInt64() != acc.Usage.InputTokens || out.AsInt64() != acc.Usage.OutputTokens || out.AsInt64() == 0 {
		t.Errorf("span usage %v/%v, client saw %d/%d", in.String(), out.String(), acc.Usage.InputTokens, acc.Usage.OutputTokens)
	}
}

func TestMessagesTranslatedToOpenAI(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/tool_call.response.json")}})
	client := anthropicClient(h)
	p := weatherParams("gpt-4o-mini")
	p.StopSequences = []string{"END"}
	p.Temperature = anthropic.Float(0.2)
	p.ToolChoice = anthropic.ToolChoiceParamOfTool("get_weather")
	msg, err := client.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 1 {
		t.Fatalf("reply = %s", msg.RawJSON())
	}
	tu := msg.Content[0].AsToolUse()
	if tu.ID != "call_abc123" || tu.Name != "get_current_weather" || !strings.Contains(string(tu.Input), "Boston") {
		t.Errorf("tool_use = %+v", tu)
	}
	if msg.Usage.InputTokens != 82 || msg.Usage.OutputTokens != 17 {
		t.Errorf("usage = %+v", msg.Usage)
	}
	req, body := upstreamJSON(t, h.upstream, 0)
	if req.Path != "/chat/completions" || body["model"] != "gpt-4o-mini" || body["user"] != "user-42" {
		t.Errorf("provider got %s %v", req.Path, body)
	}
	msgs := body["messages"].([]any)
	if m := msgs[0].(map[string]any); m["role"] != "system" || m["content"] != "You are terse." {
		t.Errorf("system = %v", m)
	}
	if tc := body["tool_choice"].(map[string]any); tc["function"].(map[string]any)["name"] != "get_weather" {
		t.Errorf("tool_choice = %v", tc)
	}
	if stop := body["stop"].([]any); stop[0] != "END" || body["temperature"] != 0.2 || body["max_completion_tokens"] != 1024.0 {
		t.Errorf("sampling = %v %v %v", stop, body["temperature"], body["max_completion_tokens"])
	}
	assertNoCallerKey(t, h.upstream)
}

func TestMessagesToolResultTurnTranslated(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	client := anthropicClient(h)
	p := weatherParams("gpt-4o-mini")
	p.Messages = append(p.Messages,
		anthropic.NewAssistantMessage(anthropic.NewTextBlock("Checking."), anthropic.NewToolUseBlock("toolu_01A", map[string]any{"city": "SF"}, "get_weather")),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_01A", "no such city", true), anthropic.NewTextBlock("and tomorrow?"),
			anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo=")),
	)
	if _, err := client.Messages.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	_, body := upstreamJSON(t, h.upstream, 0)
	msgs := body["messages"].([]any)
	if len(msgs) != 5 {
		t.Fatalf("messages = %v", msgs)
	}
	asst := msgs[2].(map[string]any)
	call := asst["tool_calls"].([]any)[0].(map[string]any)
	if asst["content"] != "Checking." || call["id"] != "toolu_01A" || call["function"].(map[string]any)["arguments"] != `{"city":"SF"}` {
		t.Errorf("assistant = %v", asst)
	}
	tool := msgs[3].(map[string]any)
	if tool["role"] != "tool" || tool["tool_call_id"] != "toolu_01A" || !strings.Contains(tool["content"].(string), "no such city") {
		t.Errorf("tool result = %v", tool)
	}
	user := msgs[4].(map[string]any)["content"].([]any)
	if user[0].(map[string]any)["text"] != "and tomorrow?" || user[1].(map[string]any)["image_url"].(map[string]any)["url"] != "data:image/png;base64,iVBORw0KGgo=" {
		t.Errorf("user = %v", user)
	}
}

func TestMessagesTranslatedToGemini(t *testing.T) {
	h := newHarness(t, harnessOptions{geminiReplies: []upstreamReply{okReply(t, "gemini/plain_text.response.json")}})
	client := anthropicClient(h)
	p := weatherParams("gemini-2.0-flash")
	p.TopK = anthropic.Int(40)
	msg, err := client.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Content[0].Text == "" {
		t.Fatalf("reply = %s", msg.RawJSON())
	}
	req, body := upstreamJSON(t, h.gemini, 0)
	if !strings.Contains(req.Path, "gemini-2.0-flash:generateContent") {
		t.Errorf("path = %s", req.Path)
	}
	gc := body["generationConfig"].(map[string]any)
	if gc["topK"] != 40.0 || gc["maxOutputTokens"] != 1024.0 {
		t.Errorf("generationConfig = %v", gc)
	}
	if body["systemInstruction"] == nil {
		t.Errorf("no systemInstruction: %v", body)
	}
	assertNoCallerKey(t, h.gemini)
}

func TestMessagesErrorsInAnthropicShape(t *testing.T) {
	rate := okReply(t, "anthropic/error_429_rate_limit.response.json")
	rate.Status, rate.Header = 429, map[string]string{"retry-after": "7"}
	over := upstreamReply{Status: 529, Body: []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)}
	bad := upstreamReply{Status: 400, Body: []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}}`)}
	cases := []struct {
		name    string
		replies []upstreamReply
		keys    []string
		model   string
		status  int
		typ     string
		retry   string
	}{
		{"rate limit keeps retry-after", []upstreamReply{rate, rate}, nil, "claude-3-7-sonnet-20250219", 429, "rate_limit_error", "7"},
		{"overloaded is 529", []upstreamReply{over, over}, nil, "claude-3-7-sonnet-20250219", 529, "overloaded_error", ""},
		{"provider 400 is passed on", []upstreamReply{bad}, nil, "claude-3-7-sonnet-20250219", 400, "invalid_request_error", ""},
		{"unknown model", nil, nil, "nosuch-model", 400, "invalid_request_error", ""},
		{"wrong key", nil, []string{"tg-right-key"}, "claude-3-7-sonnet-20250219", 401, "authentication_error", ""},
		{"provider 401 is tracegate's key: 502", []upstreamReply{{Status: 401, Body: []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)}},
			nil, "claude-3-7-sonnet-20250219", 502, "api_error", ""},
		{"openai 503 is overloaded", []upstreamReply{{Status: 503, Body: []byte(`{"error":{"message":"busy","type":"server_error"}}`)}},
			nil, "gpt-4o", 529, "overloaded_error", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := harnessOptions{anthropicReplies: c.replies, authKeys: c.keys}
			if strings.HasPrefix(c.model, "gpt") {
				o = harnessOptions{replies: c.replies}
			}
			h := newHarness(t, o)
			client := anthropicClient(h)
			_, err := client.Messages.New(context.Background(), weatherParams(c.model))
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v", err)
			}
			if apiErr.StatusCode != c.status || string(apiErr.Type()) != c.typ {
				t.Errorf("got %d %q, want %d %q: %s", apiErr.StatusCode, apiErr.Type(), c.status, c.typ, apiErr.RawJSON())
			}
			if got := apiErr.Response.Header.Get("retry-after"); got != c.retry {
				t.Errorf("retry-after = %q, want %q", got, c.retry)
			}
		})
	}
}

func TestMessagesAuthAcceptsXAPIKeyAndBearer(t *testing.T) {
	h := newHarness(t, harnessOptions{authKeys: []string{"tg-key-1"},
		anthropicReplies: []upstreamReply{okReply(t, "anthropic/plain_text.response.json")}})
	for _, opt := range []option.RequestOption{option.WithAPIKey("tg-key-1"), option.WithAuthToken("tg-key-1")} {
		client := anthropic.NewClient(option.WithBaseURL(h.base), option.WithMaxRetries(0), opt)
		if _, err := client.Messages.New(context.Background(), weatherParams("claude-3-7-sonnet-20250219")); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range h.anthropic.requests() {
		if strings.Contains(r.Header.Get("Authorization")+r.Header.Get("X-Api-Key"), "tg-key-1") {
			t.Errorf("the caller's key reached the provider: %v", r.Header)
		}
	}
}

func TestMessagesCountTokens(t *testing.T) {
	h := newHarness(t, harnessOptions{
		anthropicReplies: []upstreamReply{{Status: 200, Body: []byte(`{"input_tokens":1234}`)}},
		geminiReplies:    []upstreamReply{{Status: 200, Body: []byte(`{"totalTokens":77,"promptTokensDetails":[{"modality":"TEXT","tokenCount":77}]}`)}},
	})
	client := anthropicClient(h)
	count := func(model string) (*anthropic.MessageTokensCount, error) {
		return client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(model),
			System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
		})
	}
	n, err := count("claude-3-7-sonnet-20250219")
	if err != nil || n.InputTokens != 1234 {
		t.Fatalf("anthropic count = %v, %v", n, err)
	}
	if req, _ := upstreamJSON(t, h.anthropic, 0); req.Path != "/v1/messages/count_tokens" {
		t.Errorf("anthropic path = %s", req.Path)
	}
	n, err = count("gemini-2.0-flash")
	if err != nil || n.InputTokens != 77 {
		t.Fatalf("gemini count = %v, %v", n, err)
	}
	req, body := upstreamJSON(t, h.gemini, 0)
	gcr := body["generateContentRequest"].(map[string]any)
	if !strings.HasSuffix(req.Path, "gemini-2.0-flash:countTokens") || gcr["model"] != "models/gemini-2.0-flash" || gcr["systemInstruction"] == nil {
		t.Errorf("gemini got %s %v", req.Path, body)
	}
	_, err = count("gpt-4o")
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type() != "invalid_request_error" || !strings.Contains(apiErr.RawJSON(), "token counting") {
		t.Errorf("openai count err = %v", err)
	}
}

// TestMessagesPassthroughPricesCache: cache writes (5-minute and 1-hour) and reads are priced
// at their own rates, from the split Anthropic reports.
func TestMessagesPassthroughPricesCache(t *testing.T) {
	reply := []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"ok"}],
		"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":3000,"cache_read_input_tokens":20000,
		"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":50}}`)
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{Status: 200, Body: reply}}})
	var hdr http.Header
	client := anthropicClient(h)
	if _, err := client.Messages.New(context.Background(), weatherParams("claude-sonnet-4-5-20250929"),
		replyHeaders(&hdr)); err != nil {
		t.Fatal(err)
	}
	table, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p, _, ok := table.Lookup("anthropic", "claude-sonnet-4-5-20250929")
	if !ok || p.CacheWrite1hPerToken <= p.CacheWritePerToken || p.CacheReadPerToken >= p.InputPerToken {
		t.Fatalf("price table has no distinct cache rates: %+v", p)
	}
	want := 100*p.InputPerToken + 1000*p.CacheWritePerToken + 2000*p.CacheWrite1hPerToken + 20000*p.CacheReadPerToken + 50*p.OutputPerToken
	got, err := strconv.ParseFloat(hdr.Get("X-Tracegate-Cost-Usd"), 64)
	if err != nil || math.Abs(got-want) > 1e-9 {
		t.Errorf("cost = %v (%v), want %v", got, err, want)
	}
}

func TestMessagesRequestErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{maxBody: 512})
	for name, c := range map[string]struct {
		method, path, body string
		status             int
		typ                string
	}{
		"too large":   {"POST", "/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 600) + `"}]}`, 413, "request_too_large"},
		"not json":    {"POST", "/v1/messages", `{"model":`, 400, "invalid_request_error"},
		"bad block":   {"POST", "/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, 400, "invalid_request_error"},
		"wrong verb":  {"GET", "/v1/messages", ``, 405, "invalid_request_error"},
		"count, verb": {"GET", "/v1/messages/count_tokens", ``, 405, "invalid_request_error"},
	} {
		status, _, out := h.do(c.method, c.path, c.body, nil)
		e, _ := out["error"].(map[string]any)
		if status != c.status || out["type"] != "error" || e["type"] != c.typ || e["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", name, status, out, c.status, c.typ)
		}
	}
	if n := len(h.upstream.requests()); n != 0 {
		t.Errorf("bad requests reached the provider %d times", n)
	}
}

// TestMessagesRetryThenFallbackAcrossFormats: an overloaded Anthropic model is retried, then
// falls back to an OpenAI-format model, translated; every attempt is a span.
func TestMessagesRetryThenFallbackAcrossFormats(t *testing.T) {
	over := upstreamReply{Status: 529, Body: []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)}
	h := newHarness(t, harnessOptions{
		anthropicReplies: []upstreamReply{over},
		replies:          []upstreamReply{okReply(t, "openai/tool_call.response.json")},
		extraYAML:        "fallbacks: {claude-3-7-sonnet-20250219: [gpt-4o-mini]}\n",
	})
	client := anthropicClient(h)
	msg, err := client.Messages.New(context.Background(), weatherParams("claude-3-7-sonnet-20250219"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonToolUse || msg.Content[0].AsToolUse().Name != "get_current_weather" {
		t.Fatalf("reply = %s", msg.RawJSON())
	}
	if n := len(h.anthropic.requests()); n != 2 {
		t.Errorf("anthropic tried %d times, want 2 (max_attempts)", n)
	}
	if n := len(h.upstream.requests()); n != 1 {
		t.Errorf("openai fallback tried %d times", n)
	}
	attempts := 0
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.SpanKind() == trace.SpanKindClient {
			attempts++
		}
	}
	if attempts != 3 {
		t.Errorf("%d attempt spans, want 3", attempts)
	}
}

// TestMessagesMockProvider: the built-in mock answers Messages requests too (the demo path).
func TestMessagesMockProvider(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	client := anthropicClient(h)
	p := anthropic.MessageNewParams{Model: "mock-1", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))}}
	msg, err := client.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "Mock reply to: hello there" || msg.Usage.OutputTokens == 0 {
		t.Errorf("reply = %s", msg.RawJSON())
	}
	stream := client.Messages.NewStreaming(context.Background(), p)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil || acc.Content[0].Text != "Mock reply to: hello there" {
		t.Errorf("stream = %s, %v", acc.RawJSON(), err)
	}
}

// TestMessagesDefaultVersion: a caller that sends no anthropic-version gets the default
// forwarded, and no anthropic-beta.
func TestMessagesDefaultVersion(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{okReply(t, "anthropic/plain_text.response.json")}})
	status, _, out := h.do("POST", "/v1/messages?beta=true", `{"model":"claude-3-7-sonnet-20250219","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if status != 200 || out["type"] != "message" {
		t.Fatalf("%d %v", status, out)
	}
	req, _ := upstreamJSON(t, h.anthropic, 0)
	if req.Header.Get("Anthropic-Version") != "2023-06-01" || req.Header.Get("Anthropic-Beta") != "" || req.Path != "/v1/messages" {
		t.Errorf("provider got %s %v", req.Path, req.Header)
	}
}
