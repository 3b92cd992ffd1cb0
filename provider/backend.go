package provider

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracegate/tracegate/config"
)

// Provider kinds.
const (
	KindOpenAI    = "openai"
	KindAnthropic = "anthropic"
	KindGemini    = "gemini"
	KindMock      = "mock"
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

	headerOnce               sync.Once
	callHeader, streamHeader http.Header
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
	}
	for k, v := range p.Headers {
		b.headers = append(b.headers, [2]string{k, v})
	}
	config.ProviderDefaults(&p)
	b.Timeout, b.StreamIdleTimeout, b.MaxResponseBytes = p.Timeout.D(), p.StreamIdleTimeout.D(), p.MaxResponseBytes
	if b.Kind == KindMock {
		b.Host = "mock"
		return b, nil
	}
	c, ok := codecs[b.Kind]
	if !ok {
		return nil, fmt.Errorf("provider %q: unknown type %q", p.Name, p.Type)
	}
	b.codec = c
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
func (b *Backend) Configured() bool { return b.Kind == KindMock || b.apiKey != "" }

func (b *Backend) checkKey() error {
	if b.Configured() {
		return nil
	}
	return &MissingKeyError{Provider: b.Name, Var: b.apiKeyVar}
}
