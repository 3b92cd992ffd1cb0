package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/tracegate/tracegate/translate/gemini"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Vertex AI serves Google's Gemini models and Anthropic's Claude models under one project
// and location, in two wire formats:
//
//	Gemini: POST {base}/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
//	        (:streamGenerateContent?alt=sse), the Gemini API's body (translate/gemini);
//	Claude: POST {base}/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict
//	        (:streamRawPredict), the Messages body without "model" and with
//	        "anthropic_version":"vertex-2023-10-16" (translate/anthropic).
//
// The base is https://{location}-aiplatform.googleapis.com, or aiplatform.googleapis.com for
// location global. Auth is an OAuth access token from golang.org/x/oauth2/google: from
// credentials_file, else Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's file, the metadata server). The library is used rather than own code because
// ADC is several credential kinds (service-account JWTs, user refresh tokens, workload
// identity federation, impersonation, the metadata server), each with its own token exchange.

const (
	vertexScope            = "https://www.googleapis.com/auth/cloud-platform"
	vertexAnthropicVersion = "vertex-2023-10-16"
	vertexCredentialsHint  = "Google credentials: credentials_file, GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login"
)

func setupVertex(b *Backend, p config.Provider) error {
	host := p.Location + "-aiplatform.googleapis.com"
	if p.Location == "global" {
		host = "aiplatform.googleapis.com"
	}
	if b.BaseURL == "" {
		b.BaseURL = "https://" + host
	}
	project := p.Project
	gem := &codec{
		encode:          gemini.EncodeRequest,
		decode:          gemini.DecodeResponse,
		decodeError:     gemini.DecodeError,
		streamDecoder:   func(r io.Reader) streamDecoder { return gemini.NewStreamDecoder(r) },
		keepsSignatures: true,
	}
	anth := &codec{
		encode:        encodeVertexAnthropic,
		decode:        anthropic.DecodeResponse,
		decodeError:   decodeVertexError,
		streamDecoder: func(r io.Reader) streamDecoder { return anthropic.NewStreamDecoder(r) },
	}
	switch mode := p.AuthMode(); mode {
	case config.AuthBearer:
		bearer := func(set func(k, v string), key string) { set("Authorization", "Bearer "+key) }
		gem.auth, anth.auth = bearer, bearer
	case config.AuthADC:
		creds, err := googleCredentials(p.CredentialsFile)
		if err != nil {
			return err
		}
		if project == "" {
			project = creds.ProjectID
		}
		tokens := &bearerTokens{provider: p.Name, hint: vertexCredentialsHint, fetch: func(context.Context) (string, time.Time, error) {
			tok, err := creds.TokenSource.Token()
			if err != nil {
				return "", time.Time{}, err
			}
			return tok.AccessToken, tok.Expiry, nil
		}}
		b.authorizeWith(gem, tokens.authorize)
		b.authorizeWith(anth, tokens.authorize)
	default:
		return fmt.Errorf("auth %q: not a vertex auth mode", mode)
	}
	if project == "" {
		return fmt.Errorf("no Google Cloud project: set project (the credentials name none)")
	}
	prefix := "/v1/projects/" + vertexSegment(project) + "/locations/" + vertexSegment(p.Location) + "/publishers/"
	gem.path = func(model string, stream bool) string {
		if stream {
			return prefix + "google/models/" + vertexSegment(model) + ":streamGenerateContent?alt=sse"
		}
		return prefix + "google/models/" + vertexSegment(model) + ":generateContent"
	}
	anth.path = func(model string, stream bool) string {
		if stream {
			return prefix + "anthropic/models/" + vertexSegment(model) + ":streamRawPredict"
		}
		return prefix + "anthropic/models/" + vertexSegment(model) + ":rawPredict"
	}
	b.codec = gem
	b.countTokens = vertexGeminiCounter(prefix)
	b.embeddingsAt = vertexEmbedAt(prefix)
	// The Claude variant is copied once NewBackend has filled in the host, on first use.
	claude := sync.OnceValue(func() *Backend {
		v := *b
		v.codec, v.byModel, v.hdr = anth, nil, &requestHeaders{}
		v.countTokens = vertexClaudeCounter(prefix)
		v.messagesVia, v.embeddingsAt = vertexClaudeMessages(anth.path), nil
		return &v
	})
	b.byModel = func(model string) *Backend {
		if strings.HasPrefix(model, "claude") {
			return claude()
		}
		return b
	}
	return nil
}

// vertexSegment escapes one path segment; ':' too, which would start the method suffix. '@'
// stays, as in Claude's versioned ids (claude-sonnet-4-5@20250929).
func vertexSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// googleCredentials loads credentials from file (any kind the file says it is), or finds
// Application Default Credentials. Token fetches use a client with a timeout, so a dead
// token endpoint cannot hold requests forever.
func googleCredentials(file string) (*google.Credentials, error) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: tokenFetchTimeout})
	if file == "" {
		creds, err := google.FindDefaultCredentials(ctx, vertexScope)
		if err != nil {
			return nil, fmt.Errorf("google application default credentials: %w", err)
		}
		return creds, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("credentials_file: %w", err)
	}
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &kind); err != nil || kind.Type == "" {
		return nil, fmt.Errorf("credentials_file %s: not a Google credentials JSON file", file)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, google.CredentialsType(kind.Type), vertexScope)
	if err != nil {
		return nil, fmt.Errorf("credentials_file %s: %w", file, err)
	}
	return creds, nil
}

// encodeVertexAnthropic is the Messages body as Vertex wants it: the model is in the URL, so
// the body's leading "model" member gives way to anthropic_version.
func encodeVertexAnthropic(dst []byte, req *llm.Request) ([]byte, error) {
	mark := len(dst)
	out, err := anthropic.EncodeRequest(dst, req)
	if err != nil {
		return out, err
	}
	prefix := jsonw.String(append(make([]byte, 0, 64), `{"model":`...), req.Model)
	body := out[mark:]
	if len(body) < len(prefix) || string(body[:len(prefix)]) != string(prefix) {
		return dst[:mark], fmt.Errorf("encode vertex anthropic request: the body does not start with its model")
	}
	rest := append([]byte(nil), body[len(prefix):]...)
	out = append(append(out[:mark], `{"anthropic_version":"`+vertexAnthropicVersion+`"`...), rest...)
	return out, nil
}

// decodeVertexError reads Vertex's google.rpc envelope (quota and auth errors come from the
// platform) and falls back to Anthropic's envelope (errors from the model itself).
func decodeVertexError(provider string, status int, body []byte, h translate.HeaderGetter) *llm.UpstreamError {
	ue := gemini.DecodeError(provider, status, body, h)
	if ue.Type == "" {
		if ae := anthropic.DecodeError(provider, status, body, h); ae.Type != "" {
			return ae
		}
	}
	return ue
}
