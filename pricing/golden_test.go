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

// tolerance is 12 decimal places: the golden values are exact decimals, float64 rates are not.
const tolerance = 5e-13

type goldenCase struct {
	model  string
	usage  llm.Usage
	want   float64
	priced bool
}

// readGolden reads a golden CSV (see testdata/golden.md for the columns and the arithmetic).
func readGolden(t *testing.T, name string) []goldenCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no cases", name)
	}
	var cases []goldenCase
	for _, row := range rows[1:] {
		n := make([]int64, 5)
		for i := range n {
			if n[i], err = strconv.ParseInt(row[1+i], 10, 64); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		c := goldenCase{model: row[0], usage: llm.Usage{
			InputTokens: n[0], OutputTokens: n[1], CacheReadTokens: n[2], CacheWriteTokens: n[3],
			ReasoningTokens: n[4], Known: true,
		}}
		if row[6] != "" {
			if c.want, err = strconv.ParseFloat(row[6], 64); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			c.priced = true
		}
		cases = append(cases, c)
	}
	return cases
}

func embeddedTable(t testing.TB) *Table {
	t.Helper()
	table, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return table
}

func TestGolden(t *testing.T) {
	subset, err := LoadFile(filepath.Join("testdata", "model_prices_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]*Table{"embedded": embeddedTable(t), "upstream subset": subset}
	for tableName, table := range tables {
		for _, file := range []string{"golden.csv", "golden_extra.csv"} {
			cases := readGolden(t, file)
			if file == "golden.csv" && len(cases) != 20 {
				t.Fatalf("golden.csv has %d cases, want 20", len(cases))
			}
			for _, c := range cases {
				got, ok := table.Cost("", c.model, c.usage)
				if ok != c.priced {
					t.Errorf("%s, %s: Cost(%q) priced=%v, want %v", tableName, file, c.model, ok, c.priced)
					continue
				}
				if math.Abs(got-c.want) > tolerance {
					t.Errorf("%s, %s: Cost(%q, %+v) = %.15f, want %.15f", tableName, file, c.model, c.usage, got, c.want)
				}
			}
		}
	}
}

// TestCostRules covers what the CSVs cannot: 1-hour cache writes, other tier thresholds and
// the fallbacks for rates an entry leaves out. Expected values are exact decimal arithmetic
// on the rates quoted in each comment.
func TestCostRules(t *testing.T) {
	table := embeddedTable(t)
	cases := []struct {
		name, kind, model string
		usage             llm.Usage
		want              float64
	}{
		// golden.md "1-hour cache write": 2000 x 3e-06 + 10000 x 6e-06 + 500 x 1.5e-05.
		{"1h cache write", "anthropic", "claude-sonnet-4-5",
			llm.Usage{InputTokens: 12000, CacheWrite1hTokens: 10000, OutputTokens: 500}, 0.0735},
		// Above 200k the 1h write has its own tier rate:
		// 150000 x 6e-06 + 50000 x 1.2e-05 + 50000 x 7.5e-06 + 1000 x 2.25e-05.
		{"1h and 5m writes above 200k", "anthropic", "claude-sonnet-4-5",
			llm.Usage{InputTokens: 250000, CacheWrite1hTokens: 50000, CacheWriteTokens: 50000, OutputTokens: 1000}, 1.8975},
		// 272k tier: 200000 x 5e-06 + 100000 x 5e-07 + 2000 x 2.25e-05.
		{"above 272k", "openai", "gpt-5.4",
			llm.Usage{InputTokens: 300000, CacheReadTokens: 100000, OutputTokens: 2000}, 1.095},
		// Exactly at the threshold stays on base rates: 272000 x 2.5e-06 + 2000 x 1.5e-05.
		{"at 272k", "openai", "gpt-5.4",
			llm.Usage{InputTokens: 272000, OutputTokens: 2000}, 0.71},
		// 512k tier: 500000 x 6e-07 + 100000 x 1.2e-07 + 1000 x 2.4e-06.
		{"above 512k", "", "minimax/MiniMax-M3",
			llm.Usage{InputTokens: 600000, CacheReadTokens: 100000, OutputTokens: 1000}, 0.3144},
		// 128k tier, one token over: 128001 x 6e-06.
		{"above 128k", "", "xai/grok-4-0709", llm.Usage{InputTokens: 128001}, 0.768006},
		// DeepSeek's cache-hit key: 400 x 1.4e-07 + 600 x 1.4e-08 + 100 x 2.8e-07.
		{"cache hit key", "", "deepseek/deepseek-coder",
			llm.Usage{InputTokens: 1000, CacheReadTokens: 600, OutputTokens: 100}, 0.0000924},
		// No cache-read rate: cached tokens cost the input rate, 7000 x 5.9e-07 + 3000 x 7.9e-07.
		{"no cache-read rate", "", "groq/llama-3.3-70b-versatile",
			llm.Usage{InputTokens: 7000, CacheReadTokens: 5000, OutputTokens: 3000}, 0.0065},
		// Gemini AI Studio price, not the Vertex one (1.5e-07/6e-07): 1000 x 1e-07 + 1000 x 4e-07.
		{"gemini kind prefers AI Studio", "gemini", "gemini-2.0-flash-001",
			llm.Usage{InputTokens: 1000, OutputTokens: 1000}, 0.0005},
		{"vertex without kind", "", "gemini-2.0-flash-001",
			llm.Usage{InputTokens: 1000, OutputTokens: 1000}, 0.00075},
		// Inconsistent usage (cache reads above the prompt, reasoning above the output) bills
		// the sub-counts and no negative remainder: 2000 x 1.25e-06 + 50 x 1e-05.
		{"inconsistent usage", "openai", "gpt-4o",
			llm.Usage{InputTokens: 1000, CacheReadTokens: 2000, OutputTokens: 10, ReasoningTokens: 50}, 0.003},
		{"negative counts", "openai", "gpt-4o",
			llm.Usage{InputTokens: -5, OutputTokens: -5, CacheReadTokens: -1, ReasoningTokens: -1}, 0},
	}
	for _, c := range cases {
		got, ok := table.Cost(c.kind, c.model, c.usage)
		if !ok {
			t.Errorf("%s: %q unpriced", c.name, c.model)
			continue
		}
		if math.Abs(got-c.want) > tolerance {
			t.Errorf("%s: Cost(%q, %q) = %.15f, want %.15f", c.name, c.kind, c.model, got, c.want)
		}
	}
}
