package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/internal/cloudfake"
	"github.com/tracegate/tracegate/llm"
)

// The static test credentials, the isolated credential chain and the SigV4 check are shared
// with proxy's cloud tests.
const (
	testAccessKey    = cloudfake.AccessKey
	testSecretKey    = cloudfake.SecretKey
	testSessionToken = cloudfake.SessionToken
)

var (
	isolateAWS = cloudfake.IsolateAWS
	checkSigV4 = cloudfake.CheckSigV4
)

// converseFrames encodes the events of a JSON-lines transcript as event-stream frames.
var converseFrames = cloudfake.ConverseFrames

func bedrockProvider(url string, c config.Cloud) config.Provider {
	if c.Region == "" {
		c.Region = "us-west-2"
	}
	return config.Provider{Name: "bedrock", Type: "bedrock", BaseURL: url, Cloud: c}
}

func toolRequest() *llm.Request {
	temp := 0.2
	return &llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("You are terse.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("Weather in Paris?")}},
		},
		Tools:       []llm.Tool{{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		ToolChoice:  llm.ToolChoice{Mode: llm.ToolChoiceAuto},
		Temperature: &temp,
		MaxTokens:   256,
	}
}

func TestBedrockConverseIsSignedAndNormalised(t *testing.T) {
	isolateAWS(t, true)
	fake := newCloudFake(t, checkSigV4("us-west-2", testAccessKey, testSecretKey, testSessionToken),
		replyWith(200, "application/json", readFixture(t, "bedrock_converse.response.json"), "x-amzn-RequestId", "req-1"))
	d, _ := cloudDispatcher(t, bedrockProvider(fake.URL, config.Cloud{PromptCache: true}))
	model := "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	res, err := d.Complete(context.Background(), model, toolRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.requests()[0]
	if got.Problem != "" {
		t.Fatal(got.Problem)
	}
	if got.URI != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" {
		t.Errorf("uri %s", got.URI)
	}
	var body struct {
		Messages []struct {
			Role    string
			Content []map[string]any
		}
		System          []map[string]any
		InferenceConfig map[string]any
		ToolConfig      struct {
			Tools      []map[string]any
			ToolChoice map[string]any
		}
	}
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("%v: %s", err, got.Body)
	}
	if len(body.Messages) != 1 || body.Messages[0].Role != "user" || body.System[0]["text"] != "You are terse." ||
		body.System[1]["cachePoint"] == nil || body.InferenceConfig["maxTokens"] != 256.0 || body.InferenceConfig["temperature"] != 0.2 ||
		body.ToolConfig.Tools[0]["toolSpec"] == nil || body.ToolConfig.Tools[1]["cachePoint"] == nil || body.ToolConfig.ToolChoice["auto"] == nil {
		t.Errorf("body %s", got.Body)
	}
	r := res.Response
	// inputTokens excludes the cache: 25 + 1024 read + 1024 written = 2073, total 2082.
	want := llm.Usage{InputTokens: 2073, OutputTokens: 9, CacheReadTokens: 1024, CacheWriteTokens: 1024, Known: true}
	if r.Text != "Paris is the capital of France." || r.FinishReason != llm.FinishStop || r.RawFinishReason != "end_turn" || r.Usage != want || r.Model != model {
		t.Errorf("reply %+v", r)
	}
}

func TestBedrockConverseStreamFrames(t *testing.T) {
	isolateAWS(t, true)
	frames := converseFrames(t, readFixture(t, "bedrock_converse_stream.jsonl"))
	fake := newCloudFake(t, checkSigV4("us-west-2", testAccessKey, testSecretKey, testSessionToken),
		replyWith(200, "application/vnd.amazon.eventstream", string(frames)))
	d, _ := cloudDispatcher(t, bedrockProvider(fake.URL, config.Cloud{}))
	s, err := d.Stream(context.Background(), "anthropic.claude-3-5-haiku-20241022-v1:0", toolRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, finish, raw, usage, calls := drain(t, s)
	got := fake.requests()[0]
	if got.Problem != "" || got.URI != "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream" {
		t.Fatalf("%s: %s", got.URI, got.Problem)
	}
	if got.Header.Get("Accept") != "application/vnd.amazon.eventstream" {
		t.Errorf("accept %q", got.Header.Get("Accept"))
	}
	if text != "Let me check the weather." || finish != llm.FinishToolCalls || raw != "tool_use" {
		t.Errorf("text %q finish %q/%q", text, finish, raw)
	}
	if len(calls) != 1 || calls[0].ID != "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q" || calls[0].Name != "get_weather" || string(calls[0].Arguments) != `{"city":"Paris"}` {
		t.Errorf("calls %+v", calls)
	}
	if usage.InputTokens != 1612 || usage.CacheReadTokens != 1200 || usage.OutputTokens != 57 {
		t.Errorf("usage %+v", usage)
	}
}

func TestBedrockStreamException(t *testing.T) {
	isolateAWS(t, true)
	lines := `{"event":"messageStart","payload":{"role":"assistant"}}
{"event":"contentBlockDelta","payload":{"contentBlockIndex":0,"delta":{"text":"Hel"}}}
{"exception":"throttlingException","payload":{"message":"Too many tokens, please wait before trying again."}}
`
	frames := converseFrames(t, lines)
	fake := newCloudFake(t, nil, replyWith(200, "application/vnd.amazon.eventstream", string(frames)))
	d, _ := cloudDispatcher(t, bedrockProvider(fake.URL, config.Cloud{}))
	s, err := d.Stream(context.Background(), "meta.llama3-1-70b-instruct-v1:0", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last error
	for last == nil {
		_, last = s.Next()
	}
	var ue *llm.UpstreamError
	if !errors.As(last, &ue) || ue.Type != "ThrottlingException" || ue.Provider != "bedrock" || !strings.Contains(ue.Message, "Too many tokens") {
		t.Fatalf("stream end %v", last)
	}
}

func TestBedrockErrorsMapOntoRetries(t *testing.T) {
	isolateAWS(t, true)
	for _, tc := range []struct {
		status   int
		typ      string
		attempts int
	}{
		{429, "ThrottlingException", 3},
		{429, "ModelNotReadyException", 3},
		{503, "ServiceUnavailableException", 3},
		{400, "ValidationException", 1},
		{403, "AccessDeniedException", 1},
		{424, "ModelErrorException", 1},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			fake := newCloudFake(t, nil, replyWith(tc.status, "application/json", `{"message":"`+tc.typ+` happened"}`,
				"X-Amzn-ErrorType", tc.typ+":http://internal.amazon.com/coral/com.amazon.bedrock/"))
			d, _ := cloudDispatcher(t, bedrockProvider(fake.URL, config.Cloud{}))
			_, err := d.Complete(context.Background(), "amazon.nova-pro-v1:0", simpleRequest(), nil)
			var ue *llm.UpstreamError
			if !errors.As(err, &ue) || ue.Status != tc.status || ue.Type != tc.typ || ue.Message != tc.typ+" happened" {
				t.Fatalf("err %v", err)
			}
			if n := len(fake.requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

func TestBedrockBearerAPIKey(t *testing.T) {
	isolateAWS(t, false)
	const key = "ABSKQmVkcm9ja0FQSUtleS10ZXN0LWtleS0wMTIzNDU2Nzg5"
	fake := newCloudFake(t, func(r *http.Request, _ []byte) string {
		if r.Header.Get("Authorization") != "Bearer "+key || r.Header.Get("X-Amz-Date") != "" {
			return "auth " + r.Header.Get("Authorization")
		}
		return ""
	}, replyWith(200, "application/json", readFixture(t, "bedrock_converse.response.json")))
	p := bedrockProvider(fake.URL, config.Cloud{Region: "eu-central-1"})
	p.APIKey, p.APIKeyVar = key, "AWS_BEARER_TOKEN_BEDROCK"
	d, _ := cloudDispatcher(t, p)
	if _, err := d.Complete(context.Background(), "eu.amazon.nova-lite-v1:0", simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	p.APIKey = ""
	d, _ = cloudDispatcher(t, p)
	var mk *MissingKeyError
	if _, err := d.Complete(context.Background(), "eu.amazon.nova-lite-v1:0", simpleRequest(), nil); !errors.As(err, &mk) || mk.Var != "AWS_BEARER_TOKEN_BEDROCK" {
		t.Errorf("err %v", err)
	}
}

func TestBedrockProfileFromSharedFiles(t *testing.T) {
	dir := isolateAWS(t, false)
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile team]\nregion = eu-west-1\n"), 0o600)
	creds := filepath.Join(dir, "team-credentials")
	os.WriteFile(creds, []byte("[team]\naws_access_key_id = AKIDPROFILEPROFILE00\naws_secret_access_key = profile-secret-key-0000000000000000000000\n"), 0o600)
	fake := newCloudFake(t, checkSigV4("eu-west-1", "AKIDPROFILEPROFILE00", "profile-secret-key-0000000000000000000000", ""),
		replyWith(200, "application/json", readFixture(t, "bedrock_converse.response.json")))
	p := config.Provider{Name: "bedrock", Type: "bedrock", BaseURL: fake.URL, Cloud: config.Cloud{Profile: "team", CredentialsFile: creds}}
	d, _ := cloudDispatcher(t, p)
	if _, err := d.Complete(context.Background(), "mistral.mistral-large-2407-v1:0", simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	if got := fake.requests()[0]; got.Problem != "" {
		t.Fatal(got.Problem)
	}
}

func TestBedrockNoCredentialsIsAMissingKey(t *testing.T) {
	isolateAWS(t, false)
	fake := newCloudFake(t, nil, replyWith(200, "application/json", "{}"))
	d, _ := cloudDispatcher(t, bedrockProvider(fake.URL, config.Cloud{}))
	_, err := d.Complete(context.Background(), "amazon.nova-pro-v1:0", simpleRequest(), nil)
	var mk *MissingKeyError
	if !errors.As(err, &mk) {
		t.Fatalf("err %v", err)
	}
	if len(fake.requests()) != 0 {
		t.Error("an unsigned request reached the provider")
	}
}

func TestBedrockRegionalHostByDefault(t *testing.T) {
	isolateAWS(t, true)
	r, err := NewRouter([]config.Provider{{Name: "bedrock", Type: "bedrock", Cloud: config.Cloud{Region: "ap-northeast-1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Backend("bedrock")
	if b.Host != "bedrock-runtime.ap-northeast-1.amazonaws.com" || b.Port != 443 || !b.Configured() {
		t.Errorf("host %s:%d configured %v", b.Host, b.Port, b.Configured())
	}
	if _, err := NewRouter([]config.Provider{{Name: "bedrock", Type: "bedrock"}}, nil); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: %v", err)
	}
}
