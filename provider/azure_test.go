package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
)

const azureTestKey = "azure-test-key-0123456789abcdef"

func azureKeyCheck(r *http.Request, _ []byte) string {
	if got := r.Header.Get("api-key"); got != azureTestKey {
		return "api-key header " + got
	}
	if r.Header.Get("Authorization") != "" {
		return "unexpected Authorization header"
	}
	return ""
}

func azureProvider(url string, cloud config.Cloud) config.Provider {
	return config.Provider{Name: "azure", Type: "azure", BaseURL: url, APIKey: azureTestKey, Cloud: cloud}
}

func TestAzureV1SendsTheDeploymentAsModel(t *testing.T) {
	fake := newCloudFake(t, azureKeyCheck, replyWith(200, "application/json", readFixture(t, "openai_plain_text.response.json")))
	d, _ := cloudDispatcher(t, azureProvider(fake.URL, config.Cloud{Deployments: map[string]string{"gpt-4o": "prod-4o"}}))
	res, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.requests()[0]
	if got.Problem != "" || got.URI != "/openai/v1/chat/completions" {
		t.Fatalf("request %s: %s", got.URI, got.Problem)
	}
	var body struct{ Model string }
	if err := json.Unmarshal(got.Body, &body); err != nil || body.Model != "prod-4o" {
		t.Errorf("body model %q (%v), want the deployment prod-4o", body.Model, err)
	}
	if !res.Response.HasText || res.Response.Usage.InputTokens == 0 {
		t.Errorf("reply %+v", res.Response)
	}
}

func TestAzureDeploymentPathAndStream(t *testing.T) {
	fake := newCloudFake(t, azureKeyCheck, replyWith(200, "text/event-stream", readFixture(t, "openai_streaming_text.sse")))
	d, _ := cloudDispatcher(t, azureProvider(fake.URL+"/openai", config.Cloud{
		APIVersion: "2024-10-21", Deployments: map[string]string{"gpt-4o": "my-4o"}}))
	s, err := d.Stream(context.Background(), "gpt-4o", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, finish, _, usage, _ := drain(t, s)
	got := fake.requests()[0]
	if got.URI != "/openai/deployments/my-4o/chat/completions?api-version=2024-10-21" {
		t.Errorf("uri %s", got.URI)
	}
	if !strings.Contains(string(got.Body), `"include_usage":true`) {
		t.Errorf("stream body does not ask for usage: %s", got.Body)
	}
	if text == "" || finish != llm.FinishStop || usage.InputTokens != 14 || usage.OutputTokens != 30 {
		t.Errorf("text %q finish %q usage %+v", text, finish, usage)
	}
}

const azureFilteredPrompt = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}`

func TestAzureContentFilterRejectionIsAFinishReason(t *testing.T) {
	fake := newCloudFake(t, azureKeyCheck, replyWith(400, "application/json", azureFilteredPrompt))
	d, _ := cloudDispatcher(t, azureProvider(fake.URL, config.Cloud{}))
	res, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Response; r.FinishReason != llm.FinishContentFilter || r.RawFinishReason != "content_filter" || r.HasText || r.Model != "gpt-4o" {
		t.Errorf("reply %+v", r)
	}
	s, err := d.Stream(context.Background(), "gpt-4o", simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, finish, raw, _, _ := drain(t, s); finish != llm.FinishContentFilter || raw != "content_filter" {
		t.Errorf("stream finish %q raw %q", finish, raw)
	}
	if n := len(fake.requests()); n != 2 {
		t.Errorf("%d requests, want one each: a refusal is not retried", n)
	}
}

func TestAzureOtherBadRequestsStayErrors(t *testing.T) {
	fake := newCloudFake(t, azureKeyCheck, replyWith(400, "application/json", `{"error":{"message":"bad tools","type":"invalid_request_error","code":"invalid_value"}}`))
	d, _ := cloudDispatcher(t, azureProvider(fake.URL, config.Cloud{}))
	_, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil)
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Status != 400 || ue.Code != "invalid_value" {
		t.Fatalf("err %v", err)
	}
}

func TestAzureRetryHonoursRetryAfterMs(t *testing.T) {
	calls := 0
	fake := newCloudFake(t, azureKeyCheck, func(w http.ResponseWriter, n int, _ []byte) {
		calls = n
		if n == 1 {
			w.Header().Set("retry-after-ms", "1500")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, readFixture(t, "openai_plain_text.response.json"))
	})
	d, waits := cloudDispatcher(t, azureProvider(fake.URL, config.Cloud{}))
	if _, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(*waits) != 1 || (*waits)[0] != 1500*time.Millisecond {
		t.Errorf("%d calls, waits %v; want one retry after 1.5s", calls, *waits)
	}
}

func TestAzurePassthroughKeepsTheBodyAndRewritesTheModel(t *testing.T) {
	fake := newCloudFake(t, azureKeyCheck, replyWith(200, "application/json", readFixture(t, "openai_plain_text.response.json")))
	d, _ := cloudDispatcher(t, azureProvider(fake.URL, config.Cloud{Deployments: map[string]string{"gpt-4o": "prod-4o"}}))
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"seed":7}`)
	fw, err := d.Forward(context.Background(), "gpt-4o", body, OnceDecoder(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fake.requests()[0]
	want := `{"model":"prod-4o","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"seed":7}`
	if string(got.Body) != want {
		t.Errorf("forwarded body\n%s\nwant\n%s", got.Body, want)
	}
	if fw.Raw == nil || fw.Response.Usage.InputTokens == 0 {
		t.Errorf("reply not passed through: %+v", fw)
	}
}

func TestAzureBearerAndMissingKey(t *testing.T) {
	fake := newCloudFake(t, func(r *http.Request, _ []byte) string {
		if r.Header.Get("Authorization") != "Bearer static-token-abcdefghijklmnop" || r.Header.Get("api-key") != "" {
			return "auth headers"
		}
		return ""
	}, replyWith(200, "application/json", readFixture(t, "openai_plain_text.response.json")))
	p := azureProvider(fake.URL, config.Cloud{Auth: config.AuthBearer})
	p.APIKey = "static-token-abcdefghijklmnop"
	d, _ := cloudDispatcher(t, p)
	if _, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	p.APIKey, p.APIKeyVar = "", "AZURE_OPENAI_API_KEY"
	d, _ = cloudDispatcher(t, p)
	var mk *MissingKeyError
	if _, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil); !errors.As(err, &mk) || mk.Var != "AZURE_OPENAI_API_KEY" {
		t.Errorf("err %v, want a missing key naming the variable", err)
	}
}

// fakeEntra is a Microsoft Entra ID tenant on loopback (TLS, as MSAL requires): OpenID
// discovery and a client-credentials token endpoint that checks the client secret.
func fakeEntra(t *testing.T, tenant, clientID, secret, token string) (*httptest.Server, *int) {
	t.Helper()
	issued := 0
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		base := srv.URL + "/" + tenant
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			fmt.Fprintf(w, `{"token_endpoint":%q,"authorization_endpoint":%q,"issuer":%q}`,
				base+"/oauth2/v2.0/token", base+"/oauth2/v2.0/authorize", base+"/v2.0")
		case r.URL.Path == "/"+tenant+"/oauth2/v2.0/token":
			r.ParseForm()
			if r.Form.Get("client_id") != clientID || r.Form.Get("client_secret") != secret ||
				r.Form.Get("grant_type") != "client_credentials" || !strings.HasPrefix(r.Form.Get("scope"), azureScope) {
				w.WriteHeader(401)
				io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
				return
			}
			issued++
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3600,"access_token":%q}`, token)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &issued
}

func TestAzureEntraClientCredentials(t *testing.T) {
	const token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-test-token.sig"
	entra, issued := fakeEntra(t, "tenant-1", "client-1", "secret-1", token)
	old := newAzureCredential
	t.Cleanup(func() { newAzureCredential = old })
	newAzureCredential = func() (azcore.TokenCredential, error) {
		client := entra.Client()
		return azidentity.NewClientSecretCredential("tenant-1", "client-1", "secret-1", &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: entra.URL + "/"}, Transport: client},
			DisableInstanceDiscovery: true,
		})
	}
	fake := newCloudFake(t, func(r *http.Request, _ []byte) string {
		if r.Header.Get("Authorization") != "Bearer "+token {
			return "authorization " + r.Header.Get("Authorization")
		}
		return ""
	}, replyWith(200, "application/json", readFixture(t, "openai_plain_text.response.json")))
	d, _ := cloudDispatcher(t, config.Provider{Name: "azure", Type: "azure", BaseURL: fake.URL, Cloud: config.Cloud{Auth: config.AuthEntra}})
	for range 3 {
		if _, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if *issued != 1 {
		t.Errorf("%d tokens issued for 3 calls, want 1 (cached)", *issued)
	}
	if !d.Router().Backends()[0].Configured() {
		t.Error("an entra backend needs no api_key")
	}
}

func TestAzureEntraFailureIsAMissingKeyWithoutSecrets(t *testing.T) {
	entra, _ := fakeEntra(t, "tenant-1", "client-1", "right-secret", "unused")
	old := newAzureCredential
	t.Cleanup(func() { newAzureCredential = old })
	newAzureCredential = func() (azcore.TokenCredential, error) {
		return azidentity.NewClientSecretCredential("tenant-1", "client-1", "wrong-secret-0123456789", &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: entra.URL + "/"}, Transport: entra.Client()},
			DisableInstanceDiscovery: true,
		})
	}
	fake := newCloudFake(t, nil, replyWith(200, "application/json", "{}"))
	d, _ := cloudDispatcher(t, config.Provider{Name: "azure", Type: "azure", BaseURL: fake.URL, Cloud: config.Cloud{Auth: config.AuthEntra}})
	_, err := d.Complete(context.Background(), "gpt-4o", simpleRequest(), nil)
	var mk *MissingKeyError
	if !errors.As(err, &mk) || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("err %v", err)
	}
	if len(fake.requests()) != 0 {
		t.Error("a request without credentials reached the provider")
	}
}
