package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/internal/cloudfake"
	"go.opentelemetry.io/otel/trace"
)

// The cloud providers on the Responses and Messages surfaces, through the official clients
// (openai-go's Responses, anthropic-sdk-go's Messages), streaming and not, with tool calls.
// The fakes check what a real cloud checks: Bedrock re-signs each request's SigV4 signature,
// Vertex accepts only the access token its fake token endpoint issued for a service-account
// key generated here, Azure wants its api-key header. Each test asserts both what the client
// got and what the provider received.

const (
	surfaceAzureKey    = "azure-key-0123456789"
	surfaceVertexToken = "ya29.surface-vertex-token-0123456789"
	cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
)

// cloudTarget is one cloud provider and model, with the replies its fake gives to a
// translated call and what that call must look like on the provider's side.
type cloudTarget struct {
	name, model string
	// provider configures the provider at url; check is the fake's auth check ("" when good).
	provider func(t *testing.T, url string) (p config.Provider, check func(r *http.Request, body []byte) string)
	isStream func(path string, body []byte) bool
	// unary and stream answer a translated call; unaryTool and streamTool are the names of
	// the tool each one calls.
	unary, stream         func(t *testing.T) (contentType string, body []byte)
	unaryTool, streamTool string
	// path and streamPath are the request paths (and queries) the provider must get.
	path, streamPath string
	// sent checks the provider's body: the tool tracegate sent, in the provider's format.
	sent func(t *testing.T, body map[string]any, stream bool)
}

func jsonFixture(name string) func(t *testing.T) (string, []byte) {
	return func(t *testing.T) (string, []byte) { return "application/json", fixture(t, name) }
}

func sseFixture(name string) func(t *testing.T) (string, []byte) {
	return func(t *testing.T) (string, []byte) { return "text/event-stream", fixture(t, name) }
}

// dig walks decoded JSON by member names and array indexes; nil when the path is missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func wantField(t *testing.T, body map[string]any, want any, path ...any) {
	t.Helper()
	if got := dig(body, path...); got != want {
		raw, _ := json.Marshal(body)
		t.Errorf("provider body %v = %v, want %v: %s", path, got, want, raw)
	}
}

func azureProvider(apiVersion string) func(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string) {
	return func(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string) {
		p := config.Provider{Name: "azure", Type: "azure", BaseURL: url, APIKey: surfaceAzureKey,
			Cloud: config.Cloud{APIVersion: apiVersion, Deployments: map[string]string{"gpt-4o-mini": "prod-mini", "text-embedding-3-small": "prod-embed"}}}
		return p, func(r *http.Request, _ []byte) string {
			if got := r.Header.Get("api-key"); got != surfaceAzureKey {
				return "api-key " + got
			}
			if r.Header.Get("Authorization") != "" {
				return "an Authorization header reached Azure: " + r.Header.Get("Authorization")
			}
			return ""
		}
	}
}

func bedrockProvider(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string) {
	cloudfake.IsolateAWS(t, true)
	return config.Provider{Name: "bedrock", Type: "bedrock", BaseURL: url, Cloud: config.Cloud{Region: "us-west-2"}},
		cloudfake.CheckSigV4("us-west-2", cloudfake.AccessKey, cloudfake.SecretKey, cloudfake.SessionToken)
}

func vertexProvider(location string) func(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string) {
	return func(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string) {
		file, _ := cloudfake.ServiceAccount(t, "proj-test-1", cloudPlatformScope, surfaceVertexToken)
		p := config.Provider{Name: "vertex", Type: "vertex", BaseURL: url, Cloud: config.Cloud{Location: location, CredentialsFile: file}}
		return p, func(r *http.Request, _ []byte) string {
			if got := r.Header.Get("Authorization"); got != "Bearer "+surfaceVertexToken {
				return "authorization " + got
			}
			return ""
		}
	}
}

func bedrockFrames(t *testing.T) (string, []byte) {
	return "application/vnd.amazon.eventstream", cloudfake.ConverseFrames(t, string(fixture(t, "bedrock/converse_stream_tool_use.jsonl")))
}

func bedrockTarget(name, model, escaped string) cloudTarget {
	return cloudTarget{
		name: name, model: model, provider: bedrockProvider,
		isStream: func(p string, _ []byte) bool { return strings.HasSuffix(p, "/converse-stream") },
		unary:    jsonFixture("bedrock/converse_tool_use.synthetic.json"), unaryTool: "get_weather",
		stream: bedrockFrames, streamTool: "get_weather",
		path: "/model/" + escaped + "/converse", streamPath: "/model/" + escaped + "/converse-stream",
		sent: func(t *testing.T, body map[string]any, _ bool) {
			wantField(t, body, "get_weather", "toolConfig", "tools", 0, "toolSpec", "name")
			wantField(t, body, "user", "messages", 0, "role")
		},
	}
}

func cloudTargets() []cloudTarget {
	vertexPrefix := "/v1/projects/proj-test-1/locations/"
	return []cloudTarget{
		{
			name: "azure", model: "gpt-4o-mini", provider: azureProvider(""),
			isStream: func(_ string, body []byte) bool { return bytes.Contains(body, []byte(`"stream":true`)) },
			unary:    jsonFixture("openai/tool_call.response.json"), unaryTool: "get_current_weather",
			stream: sseFixture("openai/streaming_tool_call.sse"), streamTool: "get_weather",
			path: "/openai/v1/chat/completions", streamPath: "/openai/v1/chat/completions",
			sent: func(t *testing.T, body map[string]any, _ bool) {
				wantField(t, body, "prod-mini", "model")
				wantField(t, body, "get_weather", "tools", 0, "function", "name")
			},
		},
		bedrockTarget("bedrock-claude", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0"),
		bedrockTarget("bedrock-nova", "us.amazon.nova-pro-v1:0", "us.amazon.nova-pro-v1%3A0"),
		{
			name: "vertex-gemini", model: "gemini-2.5-flash", provider: vertexProvider("us-central1"),
			isStream: func(p string, _ []byte) bool { return strings.HasSuffix(p, ":streamGenerateContent") },
			unary:    jsonFixture("gemini/tool_call.response.json"), unaryTool: "customDivide",
			stream: sseFixture("gemini/streaming_tool_call.sse"), streamTool: "customDivide",
			path:       vertexPrefix + "us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
			streamPath: vertexPrefix + "us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			sent: func(t *testing.T, body map[string]any, _ bool) {
				wantField(t, body, "get_weather", "tools", 0, "functionDeclarations", 0, "name")
			},
		},
		{
			name: "vertex-claude", model: "claude-sonnet-4-5@20250929", provider: vertexProvider("global"),
			isStream: func(p string, _ []byte) bool { return strings.HasSuffix(p, ":streamRawPredict") },
			unary:    jsonFixture("anthropic/tool_call.response.json"), unaryTool: "get_weather",
			stream: sseFixture("anthropic/streaming_tool_call.sse"), streamTool: "get_weather",
			path:       vertexPrefix + "global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
			streamPath: vertexPrefix + "global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
			sent: func(t *testing.T, body map[string]any, stream bool) {
				wantField(t, body, "vertex-2023-10-16", "anthropic_version")
				wantField(t, body, nil, "model")
				wantField(t, body, "get_weather", "tools", 0, "name")
				if stream {
					wantField(t, body, true, "stream")
				}
			},
		},
	}
}

// serve starts the target's fake: it checks each request's auth and answers with the
// target's translated replies.
func (c cloudTarget) serve(t *testing.T) (*harness, *fakeUpstream) {
	t.Helper()
	unaryType, unary := c.unary(t)
	streamType, stream := c.stream(t)
	return checkedFake(t, c.name, c.provider, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if c.isStream(r.URL.Path, body) {
			w.Header().Set("Content-Type", streamType)
			w.Write(stream)
			return
		}
		w.Header().Set("Content-Type", unaryType)
		w.Write(unary)
	})
}

// checkedFake starts a fake provider, configured by setup, that checks each request's auth
// (answering 403 to a bad one) before answer answers it.
func checkedFake(t *testing.T, name string, setup func(t *testing.T, url string) (config.Provider, func(*http.Request, []byte) string),
	answer func(w http.ResponseWriter, r *http.Request, body []byte)) (*harness, *fakeUpstream) {
	t.Helper()
	f := newFakeUpstream(t)
	p, check := setup(t, f.srv.URL)
	f.setAnswer(func(w http.ResponseWriter, r *http.Request, body []byte) {
		if problem := check(r, body); problem != "" {
			t.Errorf("%s fake: %s", name, problem)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		answer(w, r, body)
	})
	return cloudHarness(t, p), f
}

// received checks the n-th request the fake got: its path and its body.
func (c cloudTarget) received(t *testing.T, f *fakeUpstream, n int, stream bool) {
	t.Helper()
	got := f.requests()
	if len(got) <= n {
		t.Fatalf("%s got %d requests, want more than %d", c.name, len(got), n)
	}
	want := c.path
	if stream {
		want = c.streamPath
	}
	if got[n].Path != want {
		t.Errorf("path %s, want %s", got[n].Path, want)
	}
	var body map[string]any
	if err := json.Unmarshal(got[n].Body, &body); err != nil {
		t.Fatalf("provider body is not JSON: %v: %s", err, got[n].Body)
	}
	c.sent(t, body, stream)
	for k, vs := range got[n].Header {
		for _, v := range vs {
			if strings.Contains(v, "caller-key") || strings.Contains(v, "sk-test-") {
				t.Errorf("the caller's key reached the provider in %s", k)
			}
		}
	}
}

func weatherResponse(model string) responses.ResponseNewParams {
	return responses.ResponseNewParams{Model: model, Input: textInput("What is the weather in Paris?"),
		Tools: []responses.ToolUnionParam{weatherFunction()}}
}

// functionCall is the response's one function call, failing the test without one.
func functionCall(t *testing.T, r responses.Response) responses.ResponseOutputItemUnion {
	t.Helper()
	for _, o := range r.Output {
		if o.Type == "function_call" {
			if !json.Valid([]byte(o.Arguments.OfString)) || o.CallID == "" {
				t.Errorf("function call %+v", o)
			}
			return o
		}
	}
	t.Fatalf("no function call in %+v", r.Output)
	return responses.ResponseOutputItemUnion{}
}

func TestCloudProvidersResponsesTranslated(t *testing.T) {
	for _, c := range cloudTargets() {
		if c.name == "azure" {
			continue // passed through, below
		}
		t.Run(c.name, func(t *testing.T) {
			h, f := c.serve(t)
			resp, err := h.client().Responses.New(context.Background(), weatherResponse(c.model))
			if err != nil {
				t.Fatal(err)
			}
			if call := functionCall(t, *resp); call.Name != c.unaryTool {
				t.Errorf("called %q, want %q", call.Name, c.unaryTool)
			}
			if !strings.HasPrefix(resp.ID, "resp_") || resp.Usage.InputTokens <= 0 || resp.Status != "completed" {
				t.Errorf("reply %s %s usage %+v", resp.ID, resp.Status, resp.Usage)
			}
			c.received(t, f, 0, false)

			_, final, args := streamEvents(t, h, weatherResponse(c.model))
			call := functionCall(t, final)
			if call.Name != c.streamTool || args[call.ID] != call.Arguments.OfString {
				t.Errorf("streamed call %+v, arguments %v", call, args)
			}
			if final.Usage.InputTokens <= 0 {
				t.Errorf("stream usage %+v", final.Usage)
			}
			c.received(t, f, 1, true)
		})
	}
}

func weatherMessage(model string) anthropic.MessageNewParams {
	p := weatherParams(model)
	p.TopK = anthropic.Int(5)
	return p
}

// toolUse is the message's one tool_use block, failing the test without one.
func toolUse(t *testing.T, m *anthropic.Message) anthropic.ContentBlockUnion {
	t.Helper()
	for _, b := range m.Content {
		if b.Type == "tool_use" {
			if !json.Valid(b.Input) || b.ID == "" {
				t.Errorf("tool_use %+v", b)
			}
			return b
		}
	}
	t.Fatalf("no tool_use in %+v", m.Content)
	return anthropic.ContentBlockUnion{}
}

func TestCloudProvidersMessages(t *testing.T) {
	for _, c := range cloudTargets() {
		t.Run(c.name, func(t *testing.T) {
			h, f := c.serve(t)
			client := anthropicClient(h)
			if c.name == "vertex-claude" { // passed through: a member tracegate does not model reaches Vertex
				client = anthropicClient(h, option.WithJSONSet("service_tier", "standard_only"))
			}
			msg, err := client.Messages.New(context.Background(), weatherMessage(c.model))
			if err != nil {
				t.Fatal(err)
			}
			if use := toolUse(t, msg); use.Name != c.unaryTool {
				t.Errorf("called %q, want %q", use.Name, c.unaryTool)
			}
			if msg.Usage.InputTokens <= 0 || msg.Role != "assistant" {
				t.Errorf("reply %+v", msg)
			}
			c.received(t, f, 0, false)
			_, sent := upstreamJSON(t, f, 0)
			switch c.name {
			case "bedrock-claude": // Claude's top_k has no Converse member: it goes as a model field
				wantField(t, sent, 5.0, "additionalModelRequestFields", "top_k")
			case "bedrock-nova":
				wantField(t, sent, nil, "additionalModelRequestFields")
			case "vertex-claude":
				wantField(t, sent, 5.0, "top_k")
				wantField(t, sent, "standard_only", "service_tier")
				wantField(t, sent, "ephemeral", "system", 0, "cache_control", "type")
				wantField(t, sent, "user-42", "metadata", "user_id")
				if req, _ := upstreamJSON(t, f, 0); req.Header.Get("anthropic-version") != "" {
					t.Errorf("anthropic-version header sent to Vertex: %q", req.Header.Get("anthropic-version"))
				}
			}

			stream := client.Messages.NewStreaming(context.Background(), weatherMessage(c.model))
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if use := toolUse(t, &acc); use.Name != c.streamTool {
				t.Errorf("streamed call %q, want %q", use.Name, c.streamTool)
			}
			if acc.StopReason != "tool_use" && c.name != "vertex-gemini" { // Gemini says STOP after a call
				t.Errorf("stop reason %q", acc.StopReason)
			}
			c.received(t, f, 1, true)
		})
	}
}

// azureFake is an Azure OpenAI resource: it checks the api-key and answers each path with
// the reply given for it.
func azureFake(t *testing.T, apiVersion string, replies map[string]func(t *testing.T) (string, []byte)) (*harness, *fakeUpstream) {
	t.Helper()
	return checkedFake(t, "azure", azureProvider(apiVersion), func(w http.ResponseWriter, r *http.Request, body []byte) {
		key := r.Method + " " + r.URL.Path
		if bytes.Contains(body, []byte(`"stream":true`)) {
			key += " stream"
		}
		reply, ok := replies[key]
		if !ok {
			t.Errorf("azure fake: unexpected %s", key)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		ct, b := reply(t)
		w.Header().Set("Content-Type", ct)
		w.Write(b)
	})
}

// Azure's v1 API has the Responses API: bodies pass through to /openai/v1/responses with the
// deployment as the model, and stored responses are read and deleted there.
func TestCloudAzureResponsesPassthrough(t *testing.T) {
	const id = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
	h, f := azureFake(t, "", map[string]func(*testing.T) (string, []byte){
		"POST /openai/v1/responses":        jsonFixture("openai-responses/tool_call.response.json"),
		"POST /openai/v1/responses stream": sseFixture("openai-responses/streaming_text.sse"),
		"GET /openai/v1/responses/" + id:   jsonFixture("openai-responses/plain_text.response.json"),
		"DELETE /openai/v1/responses/" + id: func(*testing.T) (string, []byte) {
			return "application/json", []byte(`{"id":"` + id + `","object":"response","deleted":true}`)
		},
	})
	c := h.client()
	resp, err := c.Responses.New(context.Background(), weatherResponse("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	if call := functionCall(t, *resp); call.Name != "get_current_weather" || call.CallID != "call_unLAR8MvFNptuiZK6K6HCy5k" {
		t.Errorf("call %+v", call)
	}
	_, sent := upstreamJSON(t, f, 0)
	wantField(t, sent, "prod-mini", "model")
	wantField(t, sent, "get_weather", "tools", 0, "name") // a Responses tool, as the client sent it
	wantField(t, sent, "What is the weather in Paris?", "input")

	_, final, _ := streamEventsChecked(t, h, weatherResponse("gpt-4o-mini"), false)
	if final.ID != "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654" || final.OutputText() == "" || final.Usage.InputTokens <= 0 {
		t.Errorf("stream final %s %q %+v", final.ID, final.OutputText(), final.Usage)
	}
	_, sent = upstreamJSON(t, f, 1)
	wantField(t, sent, "prod-mini", "model")
	wantField(t, sent, true, "stream")

	got, err := c.Responses.Get(context.Background(), id, responses.ResponseGetParams{})
	if err != nil || got.ID != id {
		t.Fatalf("get: %v %v", got, err)
	}
	if err := c.Responses.Delete(context.Background(), id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 4 || reqs[0].Path != "/openai/v1/responses" || reqs[2].Path != "/openai/v1/responses/"+id {
		t.Errorf("azure got %+v", reqs)
	}
	att := findSpan(t, h, "chat gpt-4o-mini", trace.SpanKindClient)
	if attr(att, "gen_ai.provider.name").AsString() != "azure.ai.openai" {
		t.Errorf("attempt span %v", att.Attributes())
	}
}

// A dated api-version has no Responses API: Responses requests are translated to Chat
// Completions on the deployment's path.
func TestCloudAzureDatedVersionTranslatesResponses(t *testing.T) {
	const path = "/openai/deployments/prod-mini/chat/completions"
	h, f := azureFake(t, "2024-10-21", map[string]func(*testing.T) (string, []byte){
		"POST " + path:             jsonFixture("openai/tool_call.response.json"),
		"POST " + path + " stream": sseFixture("openai/streaming_tool_call.sse"),
	})
	resp, err := h.client().Responses.New(context.Background(), weatherResponse("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	if call := functionCall(t, *resp); call.Name != "get_current_weather" {
		t.Errorf("call %+v", call)
	}
	req, sent := upstreamJSON(t, f, 0)
	if req.Path != path+"?api-version=2024-10-21" {
		t.Errorf("path %s", req.Path)
	}
	wantField(t, sent, "get_weather", "tools", 0, "function", "name")
	_, final, args := streamEvents(t, h, weatherResponse("gpt-4o-mini"))
	if call := functionCall(t, final); call.Name != "get_weather" || args[call.ID] != call.Arguments.OfString {
		t.Errorf("streamed call %+v", call)
	}
}

func TestCloudAzureEmbeddings(t *testing.T) {
	for _, tc := range []struct{ version, path string }{
		{"", "/openai/v1/embeddings"},
		{"2024-10-21", "/openai/deployments/prod-embed/embeddings?api-version=2024-10-21"},
	} {
		t.Run("version "+tc.version, func(t *testing.T) {
			route, _, _ := strings.Cut(tc.path, "?")
			h, f := azureFake(t, tc.version, map[string]func(*testing.T) (string, []byte){"POST " + route: jsonFixture("openai/embeddings.synthetic.json")})
			resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: "text-embedding-3-small", Dimensions: openai.Int(4),
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The food was delicious", "and the waiter..."}},
			})
			if err != nil {
				t.Fatal(err)
			}
			sameVectors(t, resp.Data, vectorsOf(t, fixture(t, "openai/embeddings.synthetic.json")))
			req, sent := upstreamJSON(t, f, 0)
			if req.Path != tc.path {
				t.Errorf("path %s, want %s", req.Path, tc.path)
			}
			if tc.version == "" {
				wantField(t, sent, "prod-embed", "model")
			}
			wantField(t, sent, 4.0, "dimensions")
		})
	}
}

// Vertex AI's Google embedding models answer on :predict, translated from the OpenAI body.
func TestCloudVertexEmbeddings(t *testing.T) {
	h, f := checkedFake(t, "vertex", vertexProvider("us-central1"), func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, "vertex/predict_embeddings.synthetic.json"))
	})
	resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-005", Dimensions: openai.Int(3),
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The food was delicious", "and the waiter..."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || len(resp.Data[1].Embedding) != 3 || resp.Data[1].Index != 1 || resp.Data[1].Embedding[0] != 0.0132 {
		t.Errorf("client got %+v", resp.Data)
	}
	if resp.Usage.PromptTokens != 9 || resp.Model != "text-embedding-005" {
		t.Errorf("usage %+v model %s", resp.Usage, resp.Model)
	}
	req, sent := upstreamJSON(t, f, 0)
	if req.Path != "/v1/projects/proj-test-1/locations/us-central1/publishers/google/models/text-embedding-005:predict" {
		t.Errorf("path %s", req.Path)
	}
	wantField(t, sent, "and the waiter...", "instances", 1, "content")
	wantField(t, sent, 3.0, "parameters", "outputDimensionality")
}

// Bedrock's embedding models (Titan, Cohere) answer on InvokeModel in formats of their own
// that tracegate does not speak, and Claude has none: a clear 400 before any call.
func TestCloudEmbeddingsElsewhereRefused(t *testing.T) {
	for _, c := range cloudTargets() {
		if c.name != "bedrock-claude" && c.name != "vertex-claude" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			h, f := c.serve(t)
			_, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: c.model, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")},
			})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "no embeddings API") {
				t.Fatalf("got %v", err)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("the provider got %d requests", n)
			}
		})
	}
}

func countWith(c anthropic.Client, p anthropic.MessageCountTokensParams) (*anthropic.MessageTokensCount, error) {
	return c.Messages.CountTokens(context.Background(), p)
}

func TestCloudCountTokens(t *testing.T) {
	params := func(model string) anthropic.MessageCountTokensParams {
		return anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(model),
			System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
			Tools:    []anthropic.MessageCountTokensToolUnionParam{{OfTool: claudeWeatherTool.OfTool}},
		}
	}
	vertex := func(t *testing.T, reply string) (*harness, *fakeUpstream, string) {
		h, f := checkedFake(t, "vertex", vertexProvider("us-east5"), func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, reply)
		})
		return h, f, "/v1/projects/proj-test-1/locations/us-east5/publishers/"
	}
	t.Run("vertex-claude", func(t *testing.T) {
		h, f, prefix := vertex(t, `{"input_tokens":421}`)
		n, err := countWith(anthropicClient(h), params("claude-sonnet-4-5@20250929"))
		if err != nil || n.InputTokens != 421 {
			t.Fatalf("count %v, %v", n, err)
		}
		req, sent := upstreamJSON(t, f, 0)
		if req.Path != prefix+"anthropic/models/count-tokens:rawPredict" {
			t.Errorf("path %s", req.Path)
		}
		wantField(t, sent, "claude-sonnet-4-5@20250929", "model")
		wantField(t, sent, "Be brief.", "system")
		wantField(t, sent, "get_weather", "tools", 0, "name")
		if req.Header.Get("anthropic-version") != "" {
			t.Errorf("anthropic-version header sent to Vertex: %q", req.Header.Get("anthropic-version"))
		}
	})
	t.Run("vertex-gemini", func(t *testing.T) {
		h, f, prefix := vertex(t, `{"totalTokens":31,"totalBillableCharacters":96}`)
		n, err := countWith(anthropicClient(h), params("gemini-2.5-flash"))
		if err != nil || n.InputTokens != 31 {
			t.Fatalf("count %v, %v", n, err)
		}
		req, sent := upstreamJSON(t, f, 0)
		if req.Path != prefix+"google/models/gemini-2.5-flash:countTokens" {
			t.Errorf("path %s", req.Path)
		}
		wantField(t, sent, "hello", "contents", 0, "parts", 0, "text")
		wantField(t, sent, "Be brief.", "systemInstruction", "parts", 0, "text")
		wantField(t, sent, "get_weather", "tools", 0, "functionDeclarations", 0, "name")
		wantField(t, sent, nil, "generateContentRequest")
		wantField(t, sent, nil, "toolConfig")
	})
	bedrock := func(t *testing.T, status int, reply string) (*harness, *fakeUpstream) {
		return checkedFake(t, "bedrock", bedrockProvider, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			if status != 200 {
				w.Header().Set("X-Amzn-Errortype", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			}
			w.WriteHeader(status)
			io.WriteString(w, reply)
		})
	}
	t.Run("bedrock-claude", func(t *testing.T) {
		h, f := bedrock(t, 200, `{"inputTokens":397}`)
		n, err := countWith(anthropicClient(h), params("us.anthropic.claude-sonnet-4-5-20250929-v1:0"))
		if err != nil || n.InputTokens != 397 {
			t.Fatalf("count %v, %v", n, err)
		}
		req, sent := upstreamJSON(t, f, 0)
		if req.Path != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens" {
			t.Errorf("path %s", req.Path)
		}
		wantField(t, sent, "hello", "input", "converse", "messages", 0, "content", 0, "text")
		wantField(t, sent, "Be brief.", "input", "converse", "system", 0, "text")
		wantField(t, sent, "get_weather", "input", "converse", "toolConfig", "tools", 0, "toolSpec", "name")
		wantField(t, sent, nil, "input", "converse", "inferenceConfig")
	})
	// A 2xx count that is JSON but carries no count is the provider's failure: a 502
	// api_error, as an unreadable reply is on every route, not a 500.
	unreadable := func(t *testing.T, h *harness, model string) {
		t.Helper()
		_, err := countWith(anthropicClient(h), params(model))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Type() != "api_error" {
			t.Fatalf("a count reply without its count: %v; want a 502 api_error", err)
		}
	}
	t.Run("vertex-gemini-unreadable", func(t *testing.T) {
		h, _, _ := vertex(t, `{"totalBillableCharacters":96}`)
		unreadable(t, h, "gemini-2.5-flash")
	})
	t.Run("bedrock-unreadable", func(t *testing.T) {
		h, _ := bedrock(t, 200, `{"inputTokenCount":397}`)
		unreadable(t, h, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
	})
	t.Run("bedrock-nova", func(t *testing.T) { // Bedrock counts for Claude only: its 400 comes back in Anthropic's shape
		h, _ := bedrock(t, 400, `{"message":"The provided model doesn't support counting tokens."}`)
		_, err := countWith(anthropicClient(h), params("us.amazon.nova-pro-v1:0"))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type() != "invalid_request_error" || !strings.Contains(apiErr.RawJSON(), "counting tokens") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("azure", func(t *testing.T) {
		h, f := azureFake(t, "", nil)
		_, err := countWith(anthropicClient(h), params("gpt-4o-mini"))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type() != "invalid_request_error" || !strings.Contains(apiErr.RawJSON(), "token counting") {
			t.Fatalf("got %v", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("azure got %d requests", n)
		}
	})
}
