package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/valyala/fasthttp"
)

func startTestMock(t *testing.T, opts mockOptions) *mockUpstream {
	t.Helper()
	m, err := startMock("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.shutdown(ctx)
	})
	return m
}

func openAIClient(m *mockUpstream) oai.Client {
	return oai.NewClient(option.WithBaseURL(m.baseURL()+"/"), option.WithAPIKey("test"), option.WithMaxRetries(0))
}

func TestMockServesAChatCompletionTheOpenAIClientReads(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := openAIClient(m)
	cc, err := client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 1 || cc.Choices[0].Message.Content == "" || cc.Choices[0].FinishReason != "stop" {
		t.Errorf("choices %+v", cc.Choices)
	}
	if cc.Usage.PromptTokens != 12 || cc.Usage.CompletionTokens != 7 || cc.Usage.TotalTokens != 19 {
		t.Errorf("usage %+v", cc.Usage)
	}
	if cc.Object != "chat.completion" || cc.Model != mockModel {
		t.Errorf("object %q model %q", cc.Object, cc.Model)
	}
	if m.requests.Load() != 1 {
		t.Errorf("mock counted %d requests", m.requests.Load())
	}
}

func TestMockStreamsChunksUsageAndDoneToTheOpenAIClient(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := openAIClient(m)
	stream := client.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{
		Model:         "gpt-4o-mini",
		Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
	})
	var acc oai.ChatCompletionAccumulator
	contentChunks, usageChunks := 0, 0
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 {
			contentChunks++
		} else if chunk.Usage.TotalTokens > 0 {
			usageChunks++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if contentChunks != 5 || usageChunks != 1 {
		t.Errorf("%d content chunks and %d usage chunks, want 5 and 1", contentChunks, usageChunks)
	}
	if got := acc.Choices[0].Message.Content; got != "tok0 tok1 tok2 tok3 tok4 " {
		t.Errorf("accumulated content %q", got)
	}
	if acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 5 || acc.Usage.TotalTokens != 17 {
		t.Errorf("finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
	}
}

// readSSE reads a streamed reply with fasthttp the way the load tool does and returns its
// events, without the blank separator lines.
func readSSE(t *testing.T, url, body string) []string {
	t.Helper()
	client := &fasthttp.Client{StreamResponseBody: true}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetBodyString(body)
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.CloseBodyStream() }()
	if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode(), resp.Header.ContentType())
	}
	var events []string
	sc := bufio.NewScanner(resp.BodyStream())
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			events = append(events, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

func TestMockStreamWireFormat(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 3})
	events := readSSE(t, m.chatURL(), `{"model":"x","stream":true}`)
	if len(events) != 4 || events[3] != "data: [DONE]" {
		t.Fatalf("without include_usage: %d events %q, want 3 chunks then [DONE]", len(events), events)
	}
	for i, e := range events[:3] {
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &chunk); err != nil {
			t.Fatalf("event %d %q: %v", i, e, err)
		}
		if chunk.Object != "chat.completion.chunk" || len(chunk.Choices) != 1 {
			t.Fatalf("event %d: %+v", i, chunk)
		}
		if (chunk.Choices[0].Delta.Role == "assistant") != (i == 0) || (chunk.Choices[0].FinishReason != nil) != (i == 2) {
			t.Errorf("event %d: role only on the first chunk, finish_reason only on the last: %s", i, e)
		}
	}

	events = readSSE(t, m.chatURL(), `{"model":"x","stream":true,"stream_options":{"include_usage":true}}`)
	if len(events) != 5 || !strings.Contains(events[3], `"choices":[],"usage":{`) || events[4] != "data: [DONE]" {
		t.Fatalf("with include_usage: %q", events)
	}
}

func TestMockRejectsOtherPathsAndBadBodiesAndSinksSpans(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1})
	status := func(method, path, body string) int {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(strings.TrimSuffix(m.baseURL(), "/v1") + path)
		req.Header.SetMethod(method)
		req.SetBodyString(body)
		if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode()
	}
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/models", "{}", 404},
		{"GET", "/v1/chat/completions", "", 405},
		{"POST", "/v1/chat/completions", "not json", 400},
		{"POST", "/v1/chat/completions", "[1]", 400},
		{"POST", "/v1/traces", "\x0a\x00", 200},
	}
	for _, c := range cases {
		if got := status(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s %q: status %d, want %d", c.method, c.path, c.body, got, c.want)
		}
	}
	if m.spanExports.Load() != 1 {
		t.Errorf("span exports counted: %d", m.spanExports.Load())
	}
}

func TestMockRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:80"} {
		if _, err := startMock(addr, mockOptions{chunks: 1}); err == nil {
			t.Errorf("%s accepted", addr)
		}
	}
}
