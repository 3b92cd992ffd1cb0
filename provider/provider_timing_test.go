package provider

import (
	"testing"

	"github.com/tracegate/tracegate/config"
)

func BenchmarkResolve(b *testing.B) {
	r, err := NewRouter([]config.Provider{
		{Name: "openai", Type: "openai", BaseURL: "https://api.openai.com/v1"},
		{Name: "anthropic", Type: "anthropic", BaseURL: "https://api.anthropic.com"},
		{Name: "mock", Type: "mock"},
	}, []config.Route{{Match: "mock-*", Provider: "mock"}, {Match: "gpt-*", Provider: "openai"}, {Match: "claude-*", Provider: "anthropic"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve("claude-sonnet-4-5"); err != nil {
			b.Fatal(err)
		}
	}
}
