package config

import "time"

// Config is the whole configuration file. The YAML key names are a public contract.
type Config struct {
	Server    Server              `yaml:"server"`
	Registry  Registry            `yaml:"registry"`
	Providers []Provider          `yaml:"providers"`
	Routes    []Route             `yaml:"routes"`
	Retry     Retry               `yaml:"retry"`
	Fallbacks map[string][]string `yaml:"fallbacks"`
	Pricing   Pricing             `yaml:"pricing"`
	Spans     Spans               `yaml:"spans"`
	Store     Store               `yaml:"store"`
	Log       Log                 `yaml:"log"`
}

// Server is the inbound listener.
type Server struct {
	Listen        string   `yaml:"listen"`
	MaxBodyBytes  int      `yaml:"max_body_bytes"`
	AuthKeys      []string `yaml:"auth_keys"`
	ReadTimeout   Duration `yaml:"read_timeout"`
	WriteTimeout  Duration `yaml:"write_timeout"`
	IdleTimeout   Duration `yaml:"idle_timeout"`
	MaxConcurrent int      `yaml:"max_concurrent"`
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// ProtectOps puts /metrics, /healthz and /readyz behind auth_keys too.
	ProtectOps bool `yaml:"protect_ops"`
}

// Registry lists the prompt sources and the cache in front of remote ones.
type Registry struct {
	Sources []Source `yaml:"sources"`
	Cache   Cache    `yaml:"cache"`
}

// Source is one prompt source: a directory of prompt files or an upstream registry.
type Source struct {
	Type          string   `yaml:"type"` // file | http
	Path          string   `yaml:"path"`
	BaseURL       string   `yaml:"base_url"`
	APIKey        string   `yaml:"api_key"`
	PassCallerKey bool     `yaml:"pass_caller_key"`
	Timeout       Duration `yaml:"timeout"`
	// Writable lets the prompts API create, update and delete the files of a file source.
	Writable bool `yaml:"writable"`
}

// Cache bounds the registry cache.
type Cache struct {
	TTL          Duration `yaml:"ttl"`
	StaleIfError Duration `yaml:"stale_if_error"`
	NegativeTTL  Duration `yaml:"negative_ttl"`
	MaxEntries   int      `yaml:"max_entries"`
}

// Provider is one LLM provider endpoint.
type Provider struct {
	Name    string            `yaml:"name"`
	Type    string            `yaml:"type"` // openai | anthropic | gemini | azure | bedrock | vertex | mock
	BaseURL string            `yaml:"base_url"`
	APIKey  string            `yaml:"api_key"`
	Timeout Duration          `yaml:"timeout"`
	Headers map[string]string `yaml:"headers"`
	// Cloud holds the keys of the azure, bedrock and vertex types (config/cloud.go).
	Cloud `yaml:",inline"`
	// WireAPI says which OpenAI API an openai-type provider serves Responses requests with:
	// "responses" (the default: it has /responses, bodies pass through) or "chat" (only
	// /chat/completions, as most OpenAI-compatible servers: Responses are translated).
	WireAPI string `yaml:"wire_api"`
	// StreamIdleTimeout bounds the silence between a stream's chunks (Timeout bounds the wait
	// for its first byte); a stream that is alive is never cut by a clock.
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout"`
	// MaxResponseBytes bounds a non-streaming reply; a larger one is a 502, never buffered.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// APIKeyVar is the environment variable api_key was expanded from, so that a missing key
	// can be reported by name. Set by Load, not by the file.
	APIKeyVar string `yaml:"-"`
}

// Route sends models matching a glob to a provider.
type Route struct {
	Match    string `yaml:"match"`
	Provider string `yaml:"provider"`
}

// Retry bounds retries of one provider call.
type Retry struct {
	MaxAttempts    int      `yaml:"max_attempts"`
	InitialBackoff Duration `yaml:"initial_backoff"`
	MaxBackoff     Duration `yaml:"max_backoff"`
	// MaxElapsed bounds all attempts of one request together, fallbacks included: no attempt
	// starts after it, and no backoff sleeps past it.
	MaxElapsed Duration `yaml:"max_elapsed"`
}

// Pricing replaces or amends the embedded price table.
type Pricing struct {
	File      string                   `yaml:"file"`
	Overrides map[string]PriceOverride `yaml:"overrides"`
}

// PriceOverride is one model's rates in USD per token.
type PriceOverride struct {
	InputPerToken      float64 `yaml:"input_per_token"`
	OutputPerToken     float64 `yaml:"output_per_token"`
	CacheReadPerToken  float64 `yaml:"cache_read_per_token"`
	CacheWritePerToken float64 `yaml:"cache_write_per_token"`
}

// Spans configures OpenTelemetry export.
type Spans struct {
	Exporter       string            `yaml:"exporter"` // otlp | stdout | none
	Protocol       string            `yaml:"protocol"` // http | grpc
	Endpoint       string            `yaml:"endpoint"`
	Headers        map[string]string `yaml:"headers"`
	ServiceName    string            `yaml:"service_name"`
	CaptureContent bool              `yaml:"capture_content"`
	QueueSize      int               `yaml:"queue_size"`
}

// Log configures the structured log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Default returns the configuration used for keys a file leaves out.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:        "127.0.0.1:8080",
			MaxBodyBytes:  8 << 20,
			ReadTimeout:   Duration(30 * time.Second),
			WriteTimeout:  0, // streams may run long; per-provider timeouts bound calls
			IdleTimeout:   Duration(90 * time.Second),
			MaxConcurrent: 4096,
			ShutdownGrace: Duration(30 * time.Second),
		},
		Registry: Registry{
			Cache: Cache{
				TTL:          Duration(60 * time.Second),
				StaleIfError: Duration(24 * time.Hour),
				NegativeTTL:  Duration(5 * time.Second),
				MaxEntries:   10000,
			},
		},
		Retry: Retry{
			MaxAttempts:    3,
			InitialBackoff: Duration(200 * time.Millisecond),
			MaxBackoff:     Duration(5 * time.Second),
			MaxElapsed:     Duration(defaultRetryMaxElapsed),
		},
		Spans: Spans{
			Exporter:    "otlp",
			Protocol:    "http",
			ServiceName: "tracegate",
		},
		Log:   Log{Level: "info", Format: "text"},
		Store: defaultStore(),
	}
}

// Default per-kind settings filled in by applyDefaults. They suit long generations (README,
// "Timeouts and limits"): the provider timeout matches the official OpenAI and Anthropic SDKs'
// 10 minutes, which a non-streaming reasoning model at high effort can need; a live stream is
// bounded only by its silences; retries stop being started once a request has used what one
// full call may take; 32 MiB holds the largest real replies (128k output tokens with
// logprobs, Gemini's base64 images) with room.
const (
	defaultProviderTimeout   = 10 * time.Minute
	defaultStreamIdleTimeout = 5 * time.Minute
	defaultMaxResponseBytes  = 32 << 20
	defaultRetryMaxElapsed   = 10 * time.Minute
	defaultSourceTimeout     = 5 * time.Second
)

// ProviderDefaults fills in a provider's unset timeouts and limits. The loader and the
// provider package both use it, so a provider built without the loader gets the same values.
func ProviderDefaults(p *Provider) {
	if p.Timeout == 0 {
		p.Timeout = Duration(defaultProviderTimeout)
	}
	if p.StreamIdleTimeout == 0 {
		p.StreamIdleTimeout = Duration(defaultStreamIdleTimeout)
	}
	if p.MaxResponseBytes == 0 {
		p.MaxResponseBytes = defaultMaxResponseBytes
	}
}

func (c *Config) applyDefaults() {
	for i := range c.Providers {
		p := &c.Providers[i]
		ProviderDefaults(p)
		if p.BaseURL == "" {
			p.BaseURL = defaultBaseURL[p.Type]
		}
	}
	for i := range c.Registry.Sources {
		if s := &c.Registry.Sources[i]; s.Type == "http" && s.Timeout == 0 {
			s.Timeout = Duration(defaultSourceTimeout)
		}
	}
}

var defaultBaseURL = map[string]string{
	"openai":    "https://api.openai.com/v1",
	"anthropic": "https://api.anthropic.com",
	"gemini":    "https://generativelanguage.googleapis.com",
}
