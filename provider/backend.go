package provider

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracegate/tracegate/config"
)

// Provider kinds.
const (
	KindOpenAI    = "openai"
	KindAnthropic = "anthropic"
	KindGemini    = "gemini"
	KindMock      = "mock"
	KindAzure     = "azure"
	KindBedrock   = "bedrock"
	KindVertex    = "vertex"
)

// Backend is one configured provider endpoint. It is immutable after NewBackend.
type Backend struct {
	Name    string
	Kind    string
	BaseURL string // without a trailing slash
	// Host and Port are the upstream's address, for spans (server.address, server.port).
	Host string
	Port int
	// Timeout bounds a non-streaming call and the wait for a stream's first byte;
	// StreamIdleTimeout bounds the silence between a stream's bytes.
	Timeout           time.Duration
	StreamIdleTimeout time.Duration
	// MaxResponseBytes bounds a non-streaming reply; past it the call fails unread.
	MaxResponseBytes int64

	apiKey    string
	apiKeyVar string
	headers   [][2]string
	codec     *codec
	// keyless backends authenticate without api_key (SigV4, Entra ID, Google credentials).
	keyless bool
	// byModel, when set, picks the variant of the backend that serves a model (Vertex AI
	// serves Gemini and Anthropic models in different wire formats).
	byModel func(model string) *Backend
	// servesResponses marks an OpenAI-format backend that has the Responses API (wire_api).
	servesResponses bool
	// responsesAt is where such a backend has the Responses API, below the base URL, when not
	// at /responses (Azure's /openai/v1/responses; see responsesURI).
	responsesAt string
	// embeddingsAt, when set, is where the backend has OpenAI's embeddings API for a model,
	// when not at /embeddings (Azure's paths; see azure_embeddings.go).
	embeddingsAt func(model string) string
	// countTokens, when set, counts Messages tokens where the backend's format alone does not
	// say how (Vertex's endpoints; see vertex_count.go).
	countTokens tokenCounter
	// messagesVia, when set, passes Messages bodies through to a backend that is not of kind
	// anthropic (Claude on Vertex; see messages_route.go).
	messagesVia *messagesRoute

	// hdr caches the request headers (see header); a pointer, so that a variant copied
	// from the backend (Vertex's Claude) builds its own.
	hdr *requestHeaders
}

// NewBackend builds a backend from its configuration.
func NewBackend(p config.Provider) (*Backend, error) {
	b := &Backend{
		Name:              p.Name,
		Kind:              p.Type,
		BaseURL:           strings.TrimRight(p.BaseURL, "/"),
		Timeout:           p.Timeout.D(),
		StreamIdleTimeout: p.StreamIdleTimeout.D(),
		MaxResponseBytes:  p.MaxResponseBytes,
		apiKey:            p.APIKey,
		apiKeyVar:         p.APIKeyVar,
		hdr:               &requestHeaders{},
	}
	for k, v := range p.Headers {
		b.headers = append(b.headers, [2]string{k, v})
	}
	config.ProviderDefaults(&p)
	b.Timeout, b.StreamIdleTimeout, b.MaxResponseBytes = p.Timeout.D(), p.StreamIdleTimeout.D(), p.MaxResponseBytes
	var err error
	if b.servesResponses, err = p.ServesResponses(); err != nil {
		return nil, fmt.Errorf("provider %q: wire_api %w", p.Name, err)
	}
	if b.Kind == KindMock {
		b.Host = "mock"
		return b, nil
	}
	if setup, ok := cloudSetups[b.Kind]; ok {
		if err := setup(b, p); err != nil {
			return nil, fmt.Errorf("provider %q: %w", p.Name, err)
		}
	} else if c, ok := codecs[b.Kind]; ok {
		b.codec = c
	} else {
		return nil, fmt.Errorf("provider %q: unknown type %q", p.Name, p.Type)
	}
	u, err := url.Parse(b.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("provider %q: base_url: %w", p.Name, err)
	}
	b.Host = u.Hostname()
	b.Port = 443
	if u.Scheme == "http" {
		b.Port = 80
	}
	if ps := u.Port(); ps != "" {
		if n, err := strconv.Atoi(ps); err == nil {
			b.Port = n
		}
	}
	if b.Host == "" {
		return nil, fmt.Errorf("provider %q: base_url %q has no host", p.Name, p.BaseURL)
	}
	return b, nil
}

// Configured reports whether the backend can be called (it has a key, or needs none).
func (b *Backend) Configured() bool { return b.Kind == KindMock || b.apiKey != "" || b.keyless }

func (b *Backend) checkKey() error {
	if b.Configured() {
		return nil
	}
	return &MissingKeyError{Provider: b.Name, Var: b.apiKeyVar}
}
