package provider

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/openai"
)

// Azure OpenAI speaks OpenAI's Chat Completions wire format on its own paths and with its own
// auth, so its codec is the OpenAI one with the path, the auth and the model name changed:
//
//   - api_version v1 (the default): POST {base}/openai/v1/chat/completions, the deployment as
//     the body's model ("preview" adds ?api-version=preview);
//   - a dated api_version: POST {base}/openai/deployments/{deployment}/chat/completions
//     ?api-version={version}, the deployment in the path.
//
// Auth is the api-key header, a static bearer token, or Microsoft Entra ID tokens.

// azureScope is the Entra ID scope of Azure OpenAI (Cognitive Services).
const azureScope = "https://cognitiveservices.azure.com/.default"

// newAzureCredential builds the Entra ID credential; tests replace it. azidentity's
// DefaultAzureCredential is used rather than own code because managed identity alone has
// half a dozen host-specific protocols (IMDS, App Service, Functions, Arc, Service Fabric,
// Cloud Shell) besides client secrets, certificates and workload identity federation, and it
// caches and refreshes tokens.
var newAzureCredential = func() (azcore.TokenCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
}

func setupAzure(b *Backend, p config.Provider) error {
	b.BaseURL = strings.TrimSuffix(strings.TrimSuffix(b.BaseURL, "/openai/v1"), "/openai")
	deployments := maps.Clone(p.Deployments)
	deployment := func(model string) string {
		if d, ok := deployments[model]; ok {
			return d
		}
		return model
	}
	c := &codec{
		decode:        openai.DecodeResponse,
		decodeError:   openai.DecodeError,
		streamDecoder: func(r io.Reader) streamDecoder { return openai.NewStreamDecoder(r) },
		openAIWire:    true,
		refusal:       azureRefusal,
	}
	switch version := p.AzureAPIVersion(); version {
	case config.AzureV1, "preview":
		path := "/openai/v1/chat/completions"
		if version == "preview" {
			path += "?api-version=preview"
		}
		c.path = func(string, bool) string { return path }
		b.responsesAt = azureResponsesPath(version)
		b.embeddingsAt = azureV1EmbeddingsPath(version)
		c.wireModel = deployment
		c.encode = func(dst []byte, req *llm.Request) ([]byte, error) {
			sent := *req
			sent.Model = deployment(req.Model)
			return openai.EncodeRequest(dst, &sent)
		}
	default:
		query := "/chat/completions?api-version=" + url.QueryEscape(version)
		c.path = func(model string, _ bool) string {
			return "/openai/deployments/" + url.PathEscape(deployment(model)) + query
		}
		c.encode = openai.EncodeRequest
		b.embeddingsAt = azureDeploymentEmbeddingsPath(version, deployment)
	}
	switch mode := p.AuthMode(); mode {
	case config.AuthAPIKey:
		c.auth = func(set func(k, v string), key string) { set("api-key", key) }
	case config.AuthBearer:
		c.auth = func(set func(k, v string), key string) { set("Authorization", "Bearer "+key) }
	case config.AuthEntra:
		cred, err := newAzureCredential()
		if err != nil {
			return fmt.Errorf("entra id credentials: %w", err)
		}
		tokens := &bearerTokens{
			provider: p.Name,
			hint:     "Entra ID credentials: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, workload identity or a managed identity",
			fetch: func(ctx context.Context) (string, time.Time, error) {
				tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{azureScope}})
				return tok.Token, tok.ExpiresOn, err
			},
		}
		b.authorizeWith(c, tokens.authorize)
	default:
		return fmt.Errorf("auth %q: not an azure auth mode", mode)
	}
	b.codec = c
	return nil
}

// azureRefusal turns Azure's content-filter rejection of a prompt (400 with code
// content_filter) into a reply that finished for the content filter, as a filtered
// completion (finish_reason content_filter) already is: the run API reports both as stop and
// the span keeps the raw reason.
func azureRefusal(ue *llm.UpstreamError) *llm.Response {
	if ue.Status != 400 || ue.Code != "content_filter" {
		return nil
	}
	return &llm.Response{FinishReason: llm.FinishContentFilter, RawFinishReason: "content_filter"}
}
