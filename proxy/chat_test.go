package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func (h *harness) client(opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(h.base + "/v1/"), option.WithAPIKey("caller-key"), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

func userParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    shared.ChatModel(model),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello there")},
	}
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_current_weather",
		Description: openai.String("Get the weather"),
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"location": map[string]any{"type": "string"}},
			"required":   []string{"location"},
		},
	})
}

func TestChatPassthroughNonStreaming(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var httpResp *http.Response
	params := userParams("gpt-4o-mini")
	params.Temperature = openai.Float(0.3)
	resp, err := h.client().Chat.Completions.New(context.Background(), params,
		option.WithJSONSet("custom_vendor_field", map[string]any{"keep": true}),
		option.WithHeader(headerTags, "a, b"), option.WithHeader(headerUserID, "u1"),
		option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	want := decodeBody(t, fixture(t, "openai/plain_text.response.json"))
	wantText := want["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]
	if resp.Choices[0].Message.Content != wantText || resp.ID != want["id"] {
		t.Errorf("reply %q %q", resp.Choices[0].Message.Content, resp.ID)
	}
	// Passthrough: fields tracegate does not model reach the provider untouched.
	sent := decodeBody(t, h.upstream.requests()[0].Body)
	if sent["custom_vendor_field"].(map[string]any)["keep"] != true || sent["temperature"] != 0.3 {
		t.Errorf("upstream body %v", sent)
	}
	if h.upstream.requests()[0].Header.Get("Authorization") != "Bearer sk-test-secret-key-123456" {
		t.Errorf("upstream must get the provider key, not the caller's")
	}
	cost, err := strconv.ParseFloat(httpResp.Header.Get(headerCost), 64)
	if err != nil || cost <= 0 {
		t.Errorf("%s = %q", headerCost, httpResp.Header.Get(headerCost))
	}
	if !spanIDWire.MatchString(httpResp.Header.Get(headerSpanID)) || httpResp.Header.Get("traceparent") == "" {
		t.Errorf("span headers %v", httpResp.Header)
	}
	run := findSpan(t, h, "chat gpt-4o-mini", trace.SpanKindServer)
	if got := attr(run, "tracegate.tags"); got.AsStringSlice() == nil || got.AsStringSlice()[1] != "b" {
		t.Errorf("tags attribute %v", got)
	}
	if attr(run, "user.id").AsString() != "u1" {
		t.Errorf("user.id %v", attr(run, "user.id"))
	}
}

func TestChatPassthroughStreamingHidesUsageChunkUnlessAsked(t *testing.T) {
	for _, askUsage := range []bool{false, true} {
		t.Run("include_usage="+strconv.FormatBool(askUsage), func(t *testing.T) {
			h := newHarness(t, harnessOptions{replies: []upstreamReply{sseReply(t, "openai/streaming_text.sse")}})
			params := userParams("gpt-4o-mini")
			if askUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			stream := h.client().Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			chunks, usageChunks := 0, 0
			for stream.Next() {
				c := stream.Current()
				acc.AddChunk(c)
				chunks++
				if len(c.Choices) == 0 && c.Usage.TotalTokens > 0 {
					usageChunks++
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(acc.Choices[0].Message.Content, "I'm") || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("assembled %q %q", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason)
			}
			wantUsage := 0
			if askUsage {
				wantUsage = 1
			}
			if usageChunks != wantUsage {
				t.Errorf("client saw %d usage chunks, want %d", usageChunks, wantUsage)
			}
			sent := decodeBody(t, h.upstream.requests()[0].Body)
			if so, _ := sent["stream_options"].(map[string]any); so["include_usage"] != true {
				t.Errorf("upstream must be asked for usage: %v", sent["stream_options"])
			}
			run := waitSpan(t, h, "chat gpt-4o-mini", trace.SpanKindServer)
			if attr(run, "gen_ai.usage.input_tokens").AsInt64() != 14 || attr(run, "gen_ai.usage.output_tokens").AsInt64() != 30 {
				t.Errorf("run span usage %v %v", attr(run, "gen_ai.usage.input_tokens"), attr(run, "gen_ai.usage.output_tokens"))
			}
			if attr(run, "tracegate.cost.status").AsString() != "priced" {
				t.Errorf("cost status %v", attr(run, "tracegate.cost.status"))
			}
		})
	}
}

func TestChatStreamingToolCallPassthrough(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{sseReply(t, "openai/streaming_tool_call.sse")}})
	params := userParams("gpt-4o-mini")
	params.Tools = []openai.ChatCompletionToolUnionParam{weatherTool()}
	stream := h.client().Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) == 0 || calls[0].Function.Name == "" || !json.Valid([]byte(calls[0].Function.Arguments)) {
		t.Fatalf("tool calls %+v", calls)
	}
	if acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish %q", acc.Choices[0].FinishReason)
	}
}

// The same client code works when the model routes to Anthropic or Gemini: the request is
// translated and so is the reply, streams included.
func TestChatTranslatedProviders(t *testing.T) {
	cases := []struct {
		model          string
		unary, stream  string
		wantPathUnary  string
		wantPathStream string
	}{
		{"claude-sonnet-4-5", "anthropic/plain_text.response.json", "anthropic/streaming_text.sse", "/v1/messages", "/v1/messages"},
		{"gemini-2.5-flash", "gemini/plain_text.response.json", "gemini/streaming_text.sse",
			"/v1beta/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			h, up := newTranslatedHarness(t, c.model, okReply(t, c.unary), sseReply(t, c.stream))
			params := userParams(c.model)
			params.MaxCompletionTokens = openai.Int(300)
			resp, err := h.client().Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" || resp.Usage.PromptTokens == 0 {
				t.Errorf("translated reply %+v", resp)
			}
			got := up.requests()
			if got[0].Path != c.wantPathUnary {
				t.Errorf("upstream path %q", got[0].Path)
			}
			sent := decodeBody(t, got[0].Body)
			if strings.HasPrefix(c.model, "claude") {
				if sent["system"] == nil || sent["max_tokens"].(float64) != 300 || got[0].Header.Get("x-api-key") == "" {
					t.Errorf("anthropic request %v", sent)
				}
			} else if sent["systemInstruction"] == nil || got[0].Header.Get("x-goog-api-key") == "" {
				t.Errorf("gemini request %v", sent)
			}

			stream := h.client().Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("translated stream %+v", acc.Choices[0])
			}
			if p := up.requests()[1].Path; p != c.wantPathStream {
				t.Errorf("stream path %q", p)
			}
		})
	}
}

func TestChatErrorsUseOpenAIShape(t *testing.T) {
	recorded := decodeBody(t, fixture(t, "anthropic/error_429_rate_limit.response.json"))
	body, _ := json.Marshal(recorded["body"]) // the recording wraps status, headers and body
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{
		Status: 429, Header: map[string]string{"retry-after": "7", "x-should-retry": "false"}, Body: body,
	}}})
	_, err := h.client().Chat.Completions.New(context.Background(), userParams("claude-sonnet-4-5"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want *openai.Error, got %v", err)
	}
	if apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" || apiErr.Response.Header.Get("Retry-After") != "7" {
		t.Errorf("429 passthrough: %d %q %q", apiErr.StatusCode, apiErr.Type, apiErr.Response.Header.Get("Retry-After"))
	}

	_, err = h.client().Chat.Completions.New(context.Background(), userParams("llama-unknown"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	status, _, out := h.do(http.MethodPost, "/v1/chat/completions", `{"model": 3}`, nil)
	e := out["error"].(map[string]any)
	if status != 400 || e["type"] != "invalid_request_error" || e["message"] == "" {
		t.Errorf("bad body: %d %v", status, out)
	}
	if _, ok := e["param"]; !ok {
		t.Errorf("OpenAI error shape needs param: %v", e)
	}
}

func TestChatClientDisconnectCancelsUpstream(t *testing.T) {
	chunks := [][]byte{}
	for i := 0; i < 50; i++ {
		chunks = append(chunks, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`+"\n\n"))
	}
	// After the first chunk the provider goes quiet (a model thinking): nothing is written to
	// the client, so only the disconnect watch can notice the client leaving.
	h := newHarness(t, harnessOptions{replies: []upstreamReply{{
		Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Chunks: chunks, ChunkDelay: time.Minute,
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	stream := h.client().Chat.Completions.NewStreaming(ctx, userParams("gpt-4o-mini"))
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	cancel() // the client goes away mid-stream
	stream.Close()
	select {
	case <-h.upstream.cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream request was not cancelled after the client disconnected")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := trySpan(h, "chat gpt-4o-mini", trace.SpanKindServer); s != nil {
			if (*s).Status().Code.String() != "Error" || attr(*s, "error.type").AsString() == "" {
				t.Errorf("cancelled run span: status %v error.type %v", (*s).Status(), attr(*s, "error.type"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run span never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChatCompressedBodies(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	raw, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": []any{map[string]any{"role": "user", "content": strings.Repeat("long ", 400)}}})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/v1/chat/completions", &gz)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Accept-Encoding", "zstd")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !bytes.Equal(h.upstream.requests()[0].Body, raw) {
		t.Errorf("upstream did not get the decompressed body")
	}
	// The reply (~1 KB fixture) is compressed when large enough; decode whatever came back.
	if resp.Header.Get("Content-Encoding") == "zstd" {
		dec, _ := zstd.NewReader(nil)
		if body, err = dec.DecodeAll(body, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !json.Valid(body) {
		t.Errorf("reply is not JSON: %q", body)
	}

	req, _ = http.NewRequest(http.MethodPost, h.base+"/v1/chat/completions", strings.NewReader("x"))
	req.Header.Set("Content-Encoding", "compress")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("unsupported encoding: status %d", resp.StatusCode)
	}
}

func TestModelsList(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	page, err := h.client().Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, m := range page.Data {
		ids[m.ID] = m.OwnedBy
	}
	if ids["gpt-4o-mini"] != "openai" || ids["mock-1"] != "mock" {
		t.Errorf("models %v", ids)
	}
}

// findSpan returns the ended span with this name and kind.
func findSpan(t *testing.T, h *harness, name string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	if s := trySpan(h, name, kind); s != nil {
		return *s
	}
	t.Fatalf("no %v span %q among %d", kind, name, len(h.spans.GetSpans()))
	return nil
}

// waitSpan is findSpan for a stream's span, which ends after the client has read the last
// byte (when the server closes the response body), so a little later than the client returns.
func waitSpan(t *testing.T, h *harness, name string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s := trySpan(h, name, kind); s != nil {
			return *s
		}
	}
	return findSpan(t, h, name, kind)
}

func trySpan(h *harness, name string, kind trace.SpanKind) *sdktrace.ReadOnlySpan {
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.Name() == name && s.SpanKind() == kind {
			return &s
		}
	}
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}
