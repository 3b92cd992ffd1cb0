package provider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/internal/cloudfake"
	"github.com/tracegate/tracegate/llm"
)

const vertexTestToken = "ya29.vertex-test-access-token-0123456789"

// serviceAccountFile writes a service-account key file with a fresh RSA key whose token_uri
// is tokenURL, and returns its path, the public key and the account's email.
var serviceAccountFile = cloudfake.ServiceAccountFile

func vertexBearerCheck(r *http.Request, _ []byte) string {
	if got := r.Header.Get("Authorization"); got != "Bearer "+vertexTestToken {
		return "authorization " + got
	}
	return ""
}

// vertexSetup returns a dispatcher for a vertex provider at fake, authenticated by a
// generated service account whose tokens come from a fake token endpoint.
func vertexSetup(t *testing.T, fake *cloudFake, c config.Cloud) (*Dispatcher, *[]time.Duration, *atomic.Int32) {
	t.Helper()
	file, issued := cloudfake.ServiceAccount(t, "proj-from-key", vertexScope, vertexTestToken)
	c.CredentialsFile = file
	if c.Location == "" {
		c.Location = "us-central1"
	}
	d, waits := cloudDispatcher(t, config.Provider{Name: "vertex", Type: "vertex", BaseURL: fake.URL, Cloud: c})
	return d, waits, issued
}

func TestVertexGemini(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, replyWith(200, "application/json", readFixture(t, "gemini_plain_text.response.json")))
	d, _, issued := vertexSetup(t, fake, config.Cloud{Project: "proj-test-1"})
	for range 2 {
		res, err := d.Complete(context.Background(), "gemini-2.5-flash", simpleRequest(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Response.HasText || !res.Response.Usage.Known {
			t.Errorf("reply %+v", res.Response)
		}
	}
	got := fake.requests()[0]
	if got.Problem != "" || got.URI != "/v1/projects/proj-test-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("%s: %s", got.URI, got.Problem)
	}
	if !strings.Contains(string(got.Body), `"contents":[`) {
		t.Errorf("body %s", got.Body)
	}
	if issued.Load() != 1 {
		t.Errorf("%d tokens for 2 calls, want 1 (cached)", issued.Load())
	}
}

func TestVertexGeminiStream(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, replyWith(200, "text/event-stream", readFixture(t, "gemini_streaming_text.sse")))
	d, _, _ := vertexSetup(t, fake, config.Cloud{})
	s, err := d.Stream(context.Background(), "gemini-2.0-flash", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, finish, _, usage, _ := drain(t, s)
	got := fake.requests()[0]
	// No project configured: the service account's own.
	if got.URI != "/v1/projects/proj-from-key/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse" {
		t.Errorf("uri %s", got.URI)
	}
	if !strings.Contains(text, "Rayleigh scattering") || finish != llm.FinishStop || !usage.Known {
		t.Errorf("text %q finish %q usage %+v", text, finish, usage)
	}
}

func TestVertexClaude(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, replyWith(200, "application/json", readFixture(t, "anthropic_plain_text.response.json")))
	d, _, _ := vertexSetup(t, fake, config.Cloud{Project: "proj-test-1", Location: "global"})
	res, err := d.Complete(context.Background(), "claude-sonnet-4-5@20250929", toolRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.requests()[0]
	if got.Problem != "" || got.URI != "/v1/projects/proj-test-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict" {
		t.Fatalf("%s: %s", got.URI, got.Problem)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("%v: %s", err, got.Body)
	}
	if string(body["anthropic_version"]) != `"vertex-2023-10-16"` || body["model"] != nil || body["max_tokens"] == nil || body["tools"] == nil {
		t.Errorf("body %s", got.Body)
	}
	if !res.Response.HasText || res.Target.Backend.Name != "vertex" || res.Target.Backend.Kind != KindVertex {
		t.Errorf("reply %+v from %+v", res.Response, res.Target.Backend)
	}
}

func TestVertexClaudeStream(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, replyWith(200, "text/event-stream", readFixture(t, "anthropic_streaming_text.sse")))
	d, _, _ := vertexSetup(t, fake, config.Cloud{Project: "proj-test-1", Location: "europe-west1"})
	s, err := d.Stream(context.Background(), "claude-3-5-haiku@20241022", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, finish, _, usage, _ := drain(t, s)
	got := fake.requests()[0]
	if got.URI != "/v1/projects/proj-test-1/locations/europe-west1/publishers/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict" ||
		!strings.Contains(string(got.Body), `"stream":true`) || !strings.HasPrefix(string(got.Body), `{"anthropic_version":"vertex-2023-10-16",`) {
		t.Errorf("%s %s", got.URI, got.Body)
	}
	if text == "" || finish != llm.FinishStop || !usage.Known {
		t.Errorf("text %q finish %q usage %+v", text, finish, usage)
	}
}

func TestVertexResourceExhaustedRetriesAfterRetryDelay(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, func(w http.ResponseWriter, n int, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_per_project_per_base_model.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`)
			return
		}
		io.WriteString(w, readFixture(t, "gemini_plain_text.response.json"))
	})
	d, waits, _ := vertexSetup(t, fake, config.Cloud{Project: "proj-test-1"})
	if _, err := d.Complete(context.Background(), "gemini-2.5-pro", simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] != 1500*time.Millisecond {
		t.Errorf("waits %v, want [1.5s]", *waits)
	}
}

func TestVertexClaudeErrorEnvelope(t *testing.T) {
	fake := newCloudFake(t, vertexBearerCheck, replyWith(529, "application/json", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	d, _, _ := vertexSetup(t, fake, config.Cloud{Project: "proj-test-1"})
	_, err := d.Complete(context.Background(), "claude-opus-4-1@20250805", simpleRequest(), nil)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Type != "overloaded_error" || len(fake.requests()) != 3 {
		t.Fatalf("err %v after %d requests", err, len(fake.requests()))
	}
}

func TestVertexHostsAndBadCredentials(t *testing.T) {
	file, _, _ := serviceAccountFile(t, "http://127.0.0.1:1/token", "proj-x-1")
	for loc, host := range map[string]string{"global": "aiplatform.googleapis.com", "us-east5": "us-east5-aiplatform.googleapis.com"} {
		r, err := NewRouter([]config.Provider{{Name: "v", Type: "vertex", Cloud: config.Cloud{Location: loc, CredentialsFile: file}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := r.Backend("v")
		if b.Host != host || !b.Configured() {
			t.Errorf("%s: host %s", loc, b.Host)
		}
		if v := b.forModel("claude-3-haiku@20240307"); v.Host != host || v == b || v.codec == b.codec {
			t.Errorf("%s: claude variant %+v", loc, v)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"no":"type"}`), 0o600)
	if _, err := NewRouter([]config.Provider{{Name: "v", Type: "vertex", Cloud: config.Cloud{Location: "global", CredentialsFile: bad}}}, nil); err == nil {
		t.Error("a file that is not Google credentials was accepted")
	}
}
