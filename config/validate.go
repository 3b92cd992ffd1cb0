package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Validate checks the whole configuration and returns every problem joined in one error.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen %q: %w", c.Server.Listen, err)
	}
	if c.Server.MaxBodyBytes <= 0 {
		bad("server.max_body_bytes must be positive")
	}
	if c.Server.MaxConcurrent < 0 {
		bad("server.max_concurrent must not be negative")
	}
	for i, k := range c.Server.AuthKeys {
		if strings.TrimSpace(k) == "" {
			bad("server.auth_keys[%d] is empty", i)
		}
	}
	for _, d := range []struct {
		key string
		val Duration
	}{{"read_timeout", c.Server.ReadTimeout}, {"write_timeout", c.Server.WriteTimeout},
		{"idle_timeout", c.Server.IdleTimeout}, {"shutdown_grace", c.Server.ShutdownGrace}} {
		if d.val < 0 {
			bad("server.%s must not be negative", d.key)
		}
	}
	// Without keys every caller is let in, so protect_ops would silently protect nothing.
	if c.Server.ProtectOps && len(c.Server.AuthKeys) == 0 {
		bad("server.protect_ops needs server.auth_keys: with no keys nothing is protected")
	}

	if len(c.Registry.Sources) == 0 {
		bad("registry.sources: at least one source is required")
	}
	for i, s := range c.Registry.Sources {
		switch s.Type {
		case "file":
			if s.Path == "" {
				bad("registry.sources[%d]: type file needs path", i)
			}
		case "http":
			if err := checkURL(s.BaseURL); err != nil {
				bad("registry.sources[%d].base_url: %w", i, err)
			}
			if s.PassCallerKey && s.APIKey != "" {
				bad("registry.sources[%d]: api_key and pass_caller_key are exclusive", i)
			}
			if s.Writable {
				bad("registry.sources[%d]: writable applies to file sources only (an http source is written through its own registry)", i)
			}
		default:
			bad("registry.sources[%d].type %q: want file or http", i, s.Type)
		}
	}
	if c.Registry.Cache.MaxEntries <= 0 {
		bad("registry.cache.max_entries must be positive")
	}

	names := map[string]bool{}
	for i, p := range c.Providers {
		if p.Name == "" {
			bad("providers[%d]: name is required", i)
		} else if names[p.Name] {
			bad("providers[%d]: duplicate name %q", i, p.Name)
		} else if strings.ContainsAny(p.Name, "/*") {
			bad("providers[%d]: name %q must not contain '/' or '*'", i, p.Name)
		}
		names[p.Name] = true
		switch p.Type {
		case "openai", "anthropic", "gemini":
			if err := checkURL(p.BaseURL); err != nil {
				bad("providers[%d] (%s).base_url: %w", i, p.Name, err)
			}
		case "mock":
		case "azure", "bedrock", "vertex":
			// base_url and the cloud keys are checked by validateCloud.
		default:
			bad("providers[%d] (%s).type %q: want openai, anthropic, gemini, azure, bedrock, vertex or mock", i, p.Name, p.Type)
		}
		p.validateCloud(i, bad)
		if p.Timeout < 0 {
			bad("providers[%d] (%s).timeout must not be negative", i, p.Name)
		}
		if _, err := p.ServesResponses(); err != nil {
			bad("providers[%d] (%s).wire_api: %w", i, p.Name, err)
		}
		if p.StreamIdleTimeout < 0 {
			bad("providers[%d] (%s).stream_idle_timeout must not be negative", i, p.Name)
		}
		if p.MaxResponseBytes < 0 {
			bad("providers[%d] (%s).max_response_bytes must not be negative", i, p.Name)
		}
	}
	if len(c.Providers) == 0 {
		bad("providers: at least one provider is required")
	}
	for i, r := range c.Routes {
		if r.Match == "" {
			bad("routes[%d]: match is required", i)
		} else if _, err := CompileGlob(r.Match); err != nil {
			bad("routes[%d].match %q: %w", i, r.Match, err)
		}
		if !names[r.Provider] {
			bad("routes[%d].provider %q: no such provider", i, r.Provider)
		}
	}

	if c.Retry.MaxAttempts < 1 {
		bad("retry.max_attempts must be at least 1")
	}
	if c.Retry.InitialBackoff < 0 || c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		bad("retry: need 0 <= initial_backoff <= max_backoff")
	}
	if c.Retry.MaxElapsed < 0 {
		bad("retry.max_elapsed must not be negative (0 means no bound)")
	}
	for model, next := range c.Fallbacks {
		if len(next) == 0 {
			bad("fallbacks[%q]: empty list", model)
		}
		for _, m := range next {
			if m == model {
				bad("fallbacks[%q]: a model cannot fall back to itself", model)
			}
		}
	}
	for model, o := range c.Pricing.Overrides {
		if o.InputPerToken < 0 || o.OutputPerToken < 0 || o.CacheReadPerToken < 0 || o.CacheWritePerToken < 0 {
			bad("pricing.overrides[%q]: rates must not be negative", model)
		}
	}

	switch c.Spans.Exporter {
	case "otlp", "stdout", "none":
	default:
		bad("spans.exporter %q: want otlp, stdout or none", c.Spans.Exporter)
	}
	switch c.Spans.Protocol {
	case "http", "grpc":
	default:
		bad("spans.protocol %q: want http or grpc", c.Spans.Protocol)
	}
	if c.Spans.Endpoint != "" {
		if err := checkURL(c.Spans.Endpoint); err != nil {
			bad("spans.endpoint: %w", err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: want text or json", c.Log.Format)
	}
	errs = c.Store.validateInto(errs)
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: errs}
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct{ Errs []error }

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid config (%d problems):", len(e.Errs))
	for _, err := range e.Errs {
		b.WriteString("\n  - ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *ValidationError) Unwrap() []error { return e.Errs }

var errNeedURL = errors.New("want an absolute http or https URL")

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: %w", s, errNeedURL)
	}
	return nil
}
