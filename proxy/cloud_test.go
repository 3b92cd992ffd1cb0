package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/openai/openai-go/v3"
	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"go.opentelemetry.io/otel/trace"
)

// The cloud provider types through tracegate's surfaces: the run API and the OpenAI endpoint
// (the openai-go client), streaming and not, with fakes on loopback that check each
// provider's path and auth. Signing and token sources are tested in provider/.

// cloudUpstream answers like a cloud provider, after checking the path and the auth header.
type cloudUpstream struct {
	*httptest.Server
	paths chan string
}

func newCloudUpstream(t *testing.T, authHeader, authValue string, reply func(w http.ResponseWriter, path string, body []byte)) *cloudUpstream {
	t.Helper()
	u := &cloudUpstream{paths: make(chan string, 16)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(authHeader) != authValue {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"bad auth"}`)
			return
		}
		u.paths <- r.URL.RequestURI()
		reply(w, r.URL.Path, body)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *cloudUpstream) lastPath(t *testing.T) string {
	t.Helper()
	select {
	case p := <-u.paths:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream got no request")
		return ""
	}
}

// cloudHarness is the standard harness serving a runtime whose one provider is p.
func cloudHarness(t *testing.T, p config.Provider) *harness {
	t.Helper()
	h := newHarness(t, harnessOptions{})
	p.Timeout = config.Duration(5 * time.Second)
	router, err := provider.NewRouter([]config.Provider{p}, []config.Route{{Match: "*", Provider: p.Name}})
	if err != nil {
		t.Fatal(err)
	}
	table, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	h.server.SetRuntime(&Runtime{
		Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, nil),
		Prices:     table,
	})
	return h
}

// converseStream is a ConverseStream reply, framed with the AWS SDK's event-stream encoder.
func converseStream(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, ev := range [][2]string{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello "}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"from Bedrock."}}`},
		{"contentBlockStop", `{"contentBlockIndex":0}`},
		{"messageStop", `{"stopReason":"end_turn"}`},
		{"metadata", `{"usage":{"inputTokens":20,"outputTokens":4,"totalTokens":24},"metrics":{"latencyMs":100}}`},
	} {
		msg := eventstream.Message{Payload: []byte(ev[1]), Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue(ev[0])},
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		}}
		if err := enc.Encode(&out, msg); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

type cloudCase struct {
	name      string
	provider  func(url string) config.Provider
	auth      [2]string
	model     string
	genAIName string
	// reply answers a unary or a streaming call, told apart by the path.
	reply func(t *testing.T) func(w http.ResponseWriter, path string, body []byte)
	// path and streamPath are the request paths the provider must get.
	path, streamPath string
}

func cloudCases() []cloudCase {
	fixtureReply := func(unary, unaryType, stream, streamType string, isStream func(path string, body []byte) bool) func(t *testing.T) func(http.ResponseWriter, string, []byte) {
		return func(t *testing.T) func(http.ResponseWriter, string, []byte) {
			u, s := fixture(t, unary), []byte(nil)
			if strings.HasSuffix(stream, ".sse") {
				s = fixture(t, stream)
			} else {
				s = converseStream(t)
			}
			return func(w http.ResponseWriter, path string, body []byte) {
				if isStream(path, body) {
					w.Header().Set("Content-Type", streamType)
					w.Write(s)
					return
				}
				w.Header().Set("Content-Type", unaryType)
				w.Write(u)
			}
		}
	}
	vertexAt := func(location string) func(url string) config.Provider {
		return func(url string) config.Provider {
			return config.Provider{Name: "vertex", Type: "vertex", BaseURL: url, APIKey: "ya29.vertex-token-0123456789",
				Cloud: config.Cloud{Project: "proj-test-1", Location: location}}
		}
	}
	vertexAuth := [2]string{"Authorization", "Bearer ya29.vertex-token-0123456789"}
	return []cloudCase{
		{
			name: "azure",
			provider: func(url string) config.Provider {
				return config.Provider{Name: "azure", Type: "azure", BaseURL: url, APIKey: "azure-key-0123456789",
					Cloud: config.Cloud{Deployments: map[string]string{"gpt-4o-mini": "prod-mini"}}}
			},
			auth: [2]string{"api-key", "azure-key-0123456789"}, model: "gpt-4o-mini", genAIName: "azure.ai.openai",
			reply: fixtureReply("openai/tool_call.response.json", "application/json", "openai/streaming_text.sse", "text/event-stream",
				func(_ string, body []byte) bool { return bytes.Contains(body, []byte(`"stream":true`)) }),
			path: "/openai/v1/chat/completions", streamPath: "/openai/v1/chat/completions",
		},
		{
			name: "bedrock",
			provider: func(url string) config.Provider {
				return config.Provider{Name: "bedrock", Type: "bedrock", BaseURL: url, APIKey: "ABSK-bedrock-api-key-0123456789",
					Cloud: config.Cloud{Region: "us-east-1"}}
			},
			auth: [2]string{"Authorization", "Bearer ABSK-bedrock-api-key-0123456789"}, model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			genAIName: "aws.bedrock",
			reply: fixtureReply("bedrock/converse.response.json", "application/json", "", "application/vnd.amazon.eventstream",
				func(p string, _ []byte) bool { return strings.HasSuffix(p, "/converse-stream") }),
			path:       "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
			streamPath: "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream",
		},
		{
			name:     "vertex-gemini",
			provider: vertexAt("us-central1"), auth: vertexAuth, model: "gemini-2.5-flash", genAIName: "gcp.vertex_ai",
			reply: fixtureReply("gemini/plain_text.response.json", "application/json", "gemini/streaming_text.sse", "text/event-stream",
				func(p string, _ []byte) bool { return strings.HasSuffix(p, ":streamGenerateContent") }),
			path:       "/v1/projects/proj-test-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
			streamPath: "/v1/projects/proj-test-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
		},
		{
			name:     "vertex-claude",
			provider: vertexAt("global"), auth: vertexAuth, model: "claude-sonnet-4-5@20250929", genAIName: "gcp.vertex_ai",
			reply: fixtureReply("anthropic/plain_text.response.json", "application/json", "anthropic/streaming_text.sse", "text/event-stream",
				func(p string, _ []byte) bool { return strings.HasSuffix(p, ":streamRawPredict") }),
			path:       "/v1/projects/proj-test-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
			streamPath: "/v1/projects/proj-test-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
		},
	}
}

func TestCloudProvidersRunAPI(t *testing.T) {
	for _, c := range cloudCases() {
		t.Run(c.name, func(t *testing.T) {
			up := newCloudUpstream(t, c.auth[0], c.auth[1], c.reply(t))
			h := cloudHarness(t, c.provider(up.URL))
			status, _, out := h.run("greet", map[string]any{"version": 1, "model": c.model, "variables": map[string]string{"name": "Ada"}})
			if status != 200 {
				t.Fatalf("status %d: %v", status, out)
			}
			if got := up.lastPath(t); got != c.path {
				t.Errorf("path %s, want %s", got, c.path)
			}
			usage, _ := out["usage"].(map[string]any)
			if out["finishReason"] == nil || usage["inputTokens"].(float64) <= 0 {
				t.Errorf("reply %v", out)
			}
			if cost, _ := out["cost"].(float64); cost <= 0 {
				t.Errorf("cost %v: %s is priced", out["cost"], c.model)
			}
			att := findSpan(t, h, "chat "+c.model, trace.SpanKindClient)
			if got := attr(att, "gen_ai.provider.name").AsString(); got != c.genAIName {
				t.Errorf("gen_ai.provider.name %q, want %q", got, c.genAIName)
			}
			if attr(att, "server.address").AsString() != "127.0.0.1" {
				t.Errorf("server.address %q", attr(att, "server.address").AsString())
			}
			for _, kv := range att.Attributes() {
				if s := kv.Value.String(); strings.Contains(s, c.auth[1][len(c.auth[1])-10:]) {
					t.Errorf("attribute %s carries the credential", kv.Key)
				}
			}
		})
	}
}

func TestCloudProvidersChatCompletions(t *testing.T) {
	for _, c := range cloudCases() {
		t.Run(c.name, func(t *testing.T) {
			up := newCloudUpstream(t, c.auth[0], c.auth[1], c.reply(t))
			h := cloudHarness(t, c.provider(up.URL))
			resp, err := h.client().Chat.Completions.New(context.Background(), userParams(c.model))
			if err != nil {
				t.Fatal(err)
			}
			if got := up.lastPath(t); got != c.path {
				t.Errorf("path %s, want %s", got, c.path)
			}
			if len(resp.Choices) != 1 || resp.Usage.PromptTokens <= 0 {
				t.Errorf("reply %+v", resp)
			}

			stream := h.client().Chat.Completions.NewStreaming(context.Background(), userParams(c.model))
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := up.lastPath(t); got != c.streamPath {
				t.Errorf("stream path %s, want %s", got, c.streamPath)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason == "" {
				t.Errorf("stream %+v", acc.ChatCompletion)
			}
		})
	}
}

func TestAzureContentFilterOnTheRunAPI(t *testing.T) {
	up := newCloudUpstream(t, "api-key", "azure-key-0123456789", func(w http.ResponseWriter, _ string, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`)
	})
	h := cloudHarness(t, config.Provider{Name: "azure", Type: "azure", BaseURL: up.URL, APIKey: "azure-key-0123456789"})
	status, _, out := h.run("greet", map[string]any{"version": 1, "model": "gpt-4o", "variables": map[string]string{"name": "Ada"}})
	if status != 200 || out["finishReason"] != "stop" || out["text"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	att := findSpan(t, h, "chat gpt-4o", trace.SpanKindClient)
	raw, _ := json.Marshal(att.Attributes())
	if !strings.Contains(string(raw), "content_filter") {
		t.Errorf("the span lost the raw reason: %s", raw)
	}
}
