package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func loadTestdata(t *testing.T, name string, env map[string]string) (*Config, error) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(raw, envOf(env))
}

func TestFullConfig(t *testing.T) {
	c, err := loadTestdata(t, "full.yaml", map[string]string{"TG_KEY": "secret", "OPENAI_API_KEY": "sk-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9090" || c.Server.MaxBodyBytes != 1024 || c.Server.AuthKeys[0] != "secret" {
		t.Errorf("server %+v", c.Server)
	}
	if len(c.Registry.Sources) != 2 || c.Registry.Sources[1].Timeout.D() != 3*time.Second || c.Registry.Sources[1].APIKey != "" {
		t.Errorf("sources %+v", c.Registry.Sources)
	}
	if c.Registry.Cache.MaxEntries != 50 || c.Registry.Cache.StaleIfError.D() != time.Hour {
		t.Errorf("cache %+v", c.Registry.Cache)
	}
	p := c.Providers
	if p[0].APIKey != "sk-1" || p[0].APIKeyVar != "OPENAI_API_KEY" || p[1].APIKeyVar != "ANTHROPIC_API_KEY" || p[2].APIKeyVar != "" {
		t.Errorf("provider keys %+v", p)
	}
	if p[1].BaseURL != "https://api.anthropic.com" || p[1].Timeout.D() != 30*time.Second || p[1].Headers["anthropic-beta"] != "x" {
		t.Errorf("anthropic defaults %+v", p[1])
	}
	if p[0].Timeout.D() != defaultProviderTimeout {
		t.Errorf("default timeout %v", p[0].Timeout.D())
	}
	if got := c.Fallbacks["gpt-4o"]; len(got) != 2 || got[1] != "mock-1" {
		t.Errorf("fallbacks %v", c.Fallbacks)
	}
	if c.Pricing.Overrides["mock-1"].OutputPerToken != 0.000002 {
		t.Errorf("overrides %v", c.Pricing.Overrides)
	}
	if c.Spans.Protocol != "grpc" || !c.Spans.CaptureContent || c.Spans.ServiceName != "gw" || c.Spans.Headers["x-team"] != "a" {
		t.Errorf("spans %+v", c.Spans)
	}
	if c.Retry.MaxAttempts != 5 || c.Retry.InitialBackoff.D() != 100*time.Millisecond {
		t.Errorf("retry %+v", c.Retry)
	}
}

func TestDefaultsFillOmittedKeys(t *testing.T) {
	c, err := Parse([]byte("registry: {sources: [{type: file, path: p}]}\nproviders: [{name: m, type: mock}]\n"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Server.Listen != d.Server.Listen || c.Retry != d.Retry || c.Spans.Exporter != "otlp" || c.Registry.Cache.TTL.D() != time.Minute {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	_, err := loadTestdata(t, "unknown_key.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "max_body_byte") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestAllValidationErrorsReportedTogether(t *testing.T) {
	_, err := loadTestdata(t, "many_errors.yaml", nil)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	for _, want := range []string{"server.listen", "max_body_bytes", `type "ftp"`, "registry.sources[1].base_url",
		"providers[0] (a).base_url", `duplicate name "a"`, `type "llama"`, `no such provider`, "retry.max_attempts",
		"spans.exporter", "spans.protocol"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if len(ve.Errs) < 11 {
		t.Errorf("got %d problems, want at least 11", len(ve.Errs))
	}
}

func TestBadDuration(t *testing.T) {
	if _, err := loadTestdata(t, "bad_duration.yaml", nil); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Fatalf("got %v", err)
	}
}

func TestUnsetVariableWithoutDefault(t *testing.T) {
	_, err := loadTestdata(t, "missing_env.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "TG_DEFINITELY_UNSET_VAR") {
		t.Fatalf("got %v", err)
	}
}

func TestExpansion(t *testing.T) {
	env := envOf(map[string]string{"A": "1", "EMPTY": ""})
	for in, want := range map[string]string{
		"${A}": "1", "${A:-x}": "1", "${B:-def}": "def", "${EMPTY:-d}": "d", "${EMPTY}": "", "$${A}": "${A}", "x${A}y": "x1y",
	} {
		got, err := expand([]byte(in), env)
		if err != nil || string(got) != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestLoadResolvesPathsAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("registry: {sources: [{type: file, path: ./prompts}]}\nproviders: [{name: m, type: mock}]\n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Registry.Sources[0].Path; got != filepath.Join(dir, "prompts") {
		t.Errorf("path %q", got)
	}
}

func TestShippedConfigIsValid(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:8080" || len(c.Providers) != 4 {
		t.Errorf("shipped config %+v", c.Server)
	}
}

func TestServerLimitsValidated(t *testing.T) {
	raw := []byte(`
server: {read_timeout: -1s, write_timeout: -1s, idle_timeout: -1s, shutdown_grace: -1s, protect_ops: true, max_concurrent: -1}
registry: {sources: [{type: file, path: ./prompts}]}
providers: [{name: mock, type: mock}]
`)
	_, err := Parse(raw, envOf(nil))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	for _, want := range []string{"server.read_timeout", "server.write_timeout", "server.idle_timeout", "server.shutdown_grace",
		"server.protect_ops needs server.auth_keys", "server.max_concurrent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if len(ve.Errs) != 6 {
		t.Errorf("got %d problems, want 6:\n%v", len(ve.Errs), err)
	}

	ok := []byte(`
server: {write_timeout: 0s, shutdown_grace: 0s, protect_ops: true, auth_keys: [k1]}
registry: {sources: [{type: file, path: ./prompts}]}
providers: [{name: mock, type: mock}]
`)
	c, err := Parse(ok, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.WriteTimeout != 0 || !c.Server.ProtectOps || c.Server.MaxConcurrent != 4096 {
		t.Errorf("server %+v", c.Server)
	}
}
