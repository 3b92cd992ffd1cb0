package pricing

import (
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// BenchmarkCost is the request-path cost: one cached lookup plus the arithmetic.
func BenchmarkCost(b *testing.B) {
	table := embeddedTable(b)
	u := llm.Usage{InputTokens: 12000, OutputTokens: 500, CacheReadTokens: 10000, ReasoningTokens: 100, Known: true}
	for _, c := range []struct{ name, kind, model string }{
		{"exact", "openai", "gpt-4o"},
		{"gemini-namespace", "gemini", "gemini-2.5-pro"},
		{"dated-fallback", "anthropic", "claude-sonnet-4-5-20991231"},
		{"unpriced", "mock", "mock-1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				table.Cost(c.kind, c.model, u)
			}
		})
	}
}

func BenchmarkCostParallel(b *testing.B) {
	table := embeddedTable(b)
	u := llm.Usage{InputTokens: 12000, OutputTokens: 500, CacheReadTokens: 10000, Known: true}
	table.Cost("gemini", "gemini-2.5-pro", u)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			table.Cost("gemini", "gemini-2.5-pro", u)
		}
	})
}

// BenchmarkMatch is a cache miss: the name rules run in full.
func BenchmarkMatch(b *testing.B) {
	table := embeddedTable(b)
	b.ReportAllocs()
	for b.Loop() {
		table.match("openai", "ft:gpt-4o-mini-2099-01-01:acme::AbC123")
	}
}

// BenchmarkParseEmbedded is the start-up cost of the compiled-in table.
func BenchmarkParseEmbedded(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(embeddedData)))
	for b.Loop() {
		if _, err := Parse(embeddedData); err != nil {
			b.Fatal(err)
		}
	}
}
