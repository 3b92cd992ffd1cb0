package provider

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tracegate/tracegate/config"
)

// A new user's first calls: every model family of the shipped providers resolves through the
// shipped config.yaml to the provider that serves it.
func TestShippedConfigRoutesEveryModelFamily(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(c.Providers, c.Routes)
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]string{
		"gpt-4o": "openai", "gpt-4o-mini": "openai", "gpt-4.1": "openai", "gpt-5": "openai", "gpt-3.5-turbo": "openai",
		"o1": "openai", "o1-mini": "openai", "o3": "openai", "o3-mini": "openai", "o3-pro": "openai", "o4-mini": "openai",
		"chatgpt-4o-latest": "openai", "davinci-002": "openai", "babbage-002": "openai",
		"text-embedding-3-small": "openai", "text-embedding-3-large": "openai", "text-embedding-ada-002": "openai",
		"claude-sonnet-4-5": "anthropic", "claude-3-5-haiku-20241022": "anthropic", "claude-opus-4-1": "anthropic",
		"gemini-2.5-flash": "google", "gemini-2.5-pro": "google", "gemini-embedding-001": "google",
		"text-embedding-004": "google", "text-embedding-005": "google", "text-multilingual-embedding-002": "google",
		"embedding-001": "google", "mock-1": "mock",
	} {
		tg, err := r.Resolve(model)
		if err != nil {
			t.Errorf("%s: %v", model, err)
			continue
		}
		if tg.Backend.Name != want || tg.Model != model {
			t.Errorf("%s resolves to %s/%s, want %s", model, tg.Backend.Name, tg.Model, want)
		}
	}
	// Families the shipped providers do not serve through these endpoints stay unrouted.
	for _, model := range []string{"omni-moderation-latest", "llama-3.3-70b", "mistral-large"} {
		if _, err := r.Resolve(model); !errors.Is(err, ErrUnsupportedModel) {
			t.Errorf("%s: err %v, want unsupported", model, err)
		}
	}
}

// Validation and matching share config.CompileGlob: a glob the validator accepts builds a
// router that routes by it, and one it rejects does not build.
func TestRouterMatchesWhatTheValidatorAccepts(t *testing.T) {
	provs := []config.Provider{{Name: "m", Type: "mock"}}
	for _, c := range []struct {
		glob       string
		match, not []string
	}{
		{"gpt-[45]*", []string{"gpt-4o", "gpt-5-mini"}, []string{"gpt-3.5-turbo", "gpt-"}},
		{"o[0-9]*", []string{"o1", "o3-mini"}, []string{"omni-moderation-latest", "o"}},
		{"o[!0-9]?", []string{"ox1"}, []string{"o1x"}},
		{"*-mini", []string{"o4-mini"}, []string{"o4-mini-2025"}},
		{"we?rd[a-c]", []string{"weirda", "wexrdc"}, []string{"weirdd"}},
	} {
		if _, err := config.CompileGlob(c.glob); err != nil {
			t.Fatalf("%q rejected: %v", c.glob, err)
		}
		r, err := NewRouter(provs, []config.Route{{Match: c.glob, Provider: "m"}})
		if err != nil {
			t.Fatalf("%q: %v", c.glob, err)
		}
		for _, m := range c.match {
			if _, err := r.Resolve(m); err != nil {
				t.Errorf("%q does not route %q: %v", c.glob, m, err)
			}
		}
		for _, m := range c.not {
			if _, err := r.Resolve(m); err == nil {
				t.Errorf("%q routes %q", c.glob, m)
			}
		}
	}
	if _, err := NewRouter(provs, []config.Route{{Match: "gpt-[45", Provider: "m"}}); err == nil {
		t.Error("a router built from an invalid glob")
	}
}
