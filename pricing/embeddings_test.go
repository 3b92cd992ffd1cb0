package pricing

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// Embedding golden cases: rate x input tokens, with rates from LiteLLM's table (input_cost_per_token):
// text-embedding-3-small 2e-08, -3-large 1.3e-07, ada-002 1e-07, gemini/gemini-embedding-001
// 1.5e-07, text-embedding-004/-005 1e-07 (Vertex; the gemini/ form has no entry),
// gemini/gemini-embedding-2 2e-07. An empty expected_usd is unpriced.
func TestEmbeddingGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "golden_embeddings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("golden_embeddings.csv: %v (%d rows)", err, len(rows))
	}
	table := embeddedTable(t)
	for _, row := range rows[1:] {
		kind, model := row[0], row[1]
		n, err := strconv.ParseInt(row[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := table.EmbeddingCost(kind, model, llm.Usage{InputTokens: n, Known: true})
		if row[3] == "" {
			if ok {
				t.Errorf("%s %s: priced %g, want unpriced", kind, model, got)
			}
			continue
		}
		want, err := strconv.ParseFloat(row[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || math.Abs(got-want) > tolerance {
			t.Errorf("%s %s x %d: %.12f (priced %v), want %.12f", kind, model, n, got, ok, want)
		}
	}
	if table.EmbeddingLen() < 50 {
		t.Errorf("the embedded table has %d embedding models", table.EmbeddingLen())
	}
}

// Embedding entries and chat entries never price each other's calls: LiteLLM keys an embedding
// entry "gemini/gemini-1.5-flash", which a Gemini chat lookup would otherwise try first.
func TestEmbeddingAndChatEntriesStayApart(t *testing.T) {
	table := embeddedTable(t)
	if _, key, ok := table.Lookup("gemini", "gemini-1.5-flash"); ok && key == "gemini/gemini-1.5-flash" {
		t.Error("a chat call matched the embedding entry gemini/gemini-1.5-flash")
	}
	if got, ok := table.EmbeddingCost("gemini", "gemini-1.5-flash", llm.Usage{InputTokens: 1000, Known: true}); !ok || math.Abs(got-7.5e-05) > tolerance {
		t.Errorf("embedding gemini-1.5-flash = %g %v, want 7.5e-05", got, ok)
	}
	if _, ok := table.Cost("openai", "text-embedding-3-small", llm.Usage{InputTokens: 1000, Known: true}); ok {
		t.Error("a chat lookup priced text-embedding-3-small")
	}
	if _, ok := table.EmbeddingCost("openai", "gpt-4o", llm.Usage{InputTokens: 1000, Known: true}); ok {
		t.Error("an embeddings lookup priced the chat model gpt-4o")
	}
}

// An override prices a self-hosted embedding model; it survives WithOverrides with the
// embedding entries intact.
func TestEmbeddingOverride(t *testing.T) {
	table := embeddedTable(t).WithOverrides(map[string]Price{"bge-m3": {InputPerToken: 1e-09}})
	if got, ok := table.EmbeddingCost("openai", "bge-m3", llm.Usage{InputTokens: 1000, Known: true}); !ok || math.Abs(got-1e-06) > tolerance {
		t.Errorf("bge-m3 = %g %v", got, ok)
	}
	if _, ok := table.EmbeddingCost("openai", "text-embedding-3-small", llm.Usage{InputTokens: 1, Known: true}); !ok {
		t.Error("WithOverrides lost the embedding entries")
	}
}
