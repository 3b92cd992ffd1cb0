package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/registry"
)

func benchEnv(prompts string) func(string) (string, bool) {
	vars := map[string]string{
		"TRACEGATE_LISTEN":         "127.0.0.1:9999",
		"TRACEGATE_BENCH_PROMPTS":  prompts,
		"TRACEGATE_BENCH_UPSTREAM": "http://127.0.0.1:18081/v1",
		"TRACEGATE_BENCH_OTLP":     "http://127.0.0.1:18081",
		"TRACEGATE_BENCH_SPANS":    "none",
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// TestBenchConfigIsAValidTracegateConfig loads the generated config with tracegate's own
// loader, so a change to the config schema shows up here rather than as a failed benchmark.
func TestBenchConfigIsAValidTracegateConfig(t *testing.T) {
	c, err := config.Parse([]byte(benchConfig), benchEnv(filepath.Join("bench", "prompts")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9999" || c.Spans.Exporter != "none" || c.Retry.MaxAttempts != 1 {
		t.Errorf("server %+v spans %+v retry %+v", c.Server, c.Spans, c.Retry)
	}
	if len(c.Providers) != 1 || c.Providers[0].Type != "openai" || c.Providers[0].BaseURL != "http://127.0.0.1:18081/v1" || c.Providers[0].APIKey == "" {
		t.Errorf("providers %+v: one keyed openai provider pointing at the mock", c.Providers)
	}
	if len(c.Routes) != 1 || c.Routes[0].Match != "*" || c.Routes[0].Provider != "upstream" {
		t.Errorf("routes %+v", c.Routes)
	}
	if c.Registry.Sources[0].Path != filepath.Join("bench", "prompts") {
		t.Errorf("sources %+v", c.Registry.Sources)
	}
}

func TestScriptBenchConfigIsTheGeneratedOne(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "scripts", "bench-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != benchConfig {
		t.Fatal("scripts/bench-config.yaml differs from benchConfig in gateway.go: keep them the same")
	}
}

func TestBenchPromptLoadsFromAFileRegistry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, benchPromptSlug+".yaml"), []byte(benchPrompt("gpt-4o-mini")), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := registry.NewFileSource(dir, slog.New(slog.NewTextHandler(io.Discard, nil))).Get(context.Background(), benchPromptSlug, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != 1 || p.Versions[0].Model != "gpt-4o-mini" {
		t.Errorf("prompt %+v", p)
	}
	body, err := runBody("name=bench")
	if err != nil || !strings.Contains(string(body), `"name":"bench"`) {
		t.Errorf("the default run body must fill the prompt's one variable: %s %v", body, err)
	}
}

func TestHermeticEnvDropsOTelVariables(t *testing.T) {
	got := hermeticEnv([]string{"PATH=/bin", "OTEL_EXPORTER_OTLP_ENDPOINT=http://x", "HOME=/root"})
	if strings.Join(got, " ") != "PATH=/bin HOME=/root" {
		t.Errorf("got %q", got)
	}
}
