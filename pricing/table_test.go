package pricing

import (
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEmbedded(t *testing.T) {
	table := embeddedTable(t)
	if n := table.Len(); n < 2000 {
		t.Errorf("embedded table has %d models, want the ~2200 chat models of the upstream map", n)
	}
	if w := table.Warnings(); len(w) != 0 {
		t.Errorf("embedded table warnings: %q", w)
	}
	again, err := Embedded()
	if err != nil || again != table {
		t.Errorf("Embedded() is not one shared table: %p %p %v", again, table, err)
	}
	// Only chat models are embedded.
	for _, model := range []string{"text-embedding-3-small", "dall-e-3", "whisper-1", "sample_spec"} {
		if _, _, ok := table.Lookup("", model); ok {
			t.Errorf("non-chat entry %q is priced", model)
		}
	}
}

func TestLoadFileSkipsWhatIsNotAPricedChatModel(t *testing.T) {
	table, err := LoadFile(filepath.Join("testdata", "model_prices_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	if w := table.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
	for model, priced := range map[string]bool{
		"gpt-4o":                   true,
		"fireworks-ai-default":     false, // 0/0 placeholder
		"text-embedding-3-small":   false,
		"dall-e-3":                 false,
		"gemini/gemini-1.5-flash":  false, // mode embedding upstream
		"gemini/gemini-exp-1206":   false, // 0/0 placeholder
		"sample_spec":              false,
		"fallback_generalizations": false,
	} {
		if _, _, ok := table.Lookup("", model); ok != priced {
			t.Errorf("%q priced=%v, want %v", model, ok, priced)
		}
	}
	p, _, _ := table.Lookup("", "claude-sonnet-4-5")
	want := Price{
		InputPerToken: 3e-06, OutputPerToken: 1.5e-05, CacheReadPerToken: 3e-07,
		CacheWritePerToken: 3.75e-06, CacheWrite1hPerToken: 6e-06, ReasoningPerToken: 1.5e-05,
	}
	wantTier := Price{
		InputPerToken: 6e-06, OutputPerToken: 2.25e-05, CacheReadPerToken: 6e-07,
		CacheWritePerToken: 7.5e-06, CacheWrite1hPerToken: 1.2e-05, ReasoningPerToken: 2.25e-05,
	}
	if len(p.Tiers) != 1 || p.Tiers[0].AboveInputTokens != 200000 || !sameRates(p.Tiers[0].Price, wantTier) ||
		len(p.Tiers[0].Price.Tiers) != 0 || !sameRates(p, want) {
		t.Errorf("claude-sonnet-4-5 = %+v", p)
	}
}

func sameRates(a, b Price) bool {
	return a.InputPerToken == b.InputPerToken && a.OutputPerToken == b.OutputPerToken &&
		a.CacheReadPerToken == b.CacheReadPerToken && a.CacheWritePerToken == b.CacheWritePerToken &&
		a.CacheWrite1hPerToken == b.CacheWrite1hPerToken && a.ReasoningPerToken == b.ReasoningPerToken
}

func TestParseModeIsOptional(t *testing.T) {
	table, err := Parse([]byte(`{
		"my-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
		"my-embedder": {"input_cost_per_token": 1e-06, "output_cost_per_token": 0, "mode": "embedding"},
		"odd-mode": {"input_cost_per_token": 1e-06, "mode": 7}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	for model, priced := range map[string]bool{"my-model": true, "my-embedder": false, "odd-mode": true} {
		if _, _, ok := table.Lookup("", model); ok != priced {
			t.Errorf("%q priced=%v, want %v", model, ok, priced)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, err := LoadFile(filepath.Join("testdata", "no-such-file.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, bad := range []string{``, `{`, `[]`, `"x"`, `{"a": 1} x`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	table, err := Parse([]byte(`{}`))
	if err != nil || table.Len() != 0 {
		t.Errorf("empty table: %v, %d", err, table.Len())
	}
}

func TestWarnings(t *testing.T) {
	table, err := LoadFile(filepath.Join("testdata", "implausible.json"))
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(table.Warnings(), "\n")
	for _, want := range []string{
		`model "cheap-cache-bug": cache read rate 3e-06 is above the input rate 1e-06`,
		`model "negative-rate": input_cost_per_token is -1e-06, left unpriced`,
		`model "string-rate": input_cost_per_token is not a number, left unpriced`,
		`model "infinite-rate": input_cost_per_token is +Inf, left unpriced`,
		`model "tier-cache-bug" above 200000 prompt tokens: cache read rate 5e-06 is above the input rate 2e-06`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q; got:\n%s", want, warnings)
		}
	}
	if strings.Contains(warnings, `"fine"`) {
		t.Errorf("warning for a sound entry:\n%s", warnings)
	}
	for model, priced := range map[string]bool{
		"cheap-cache-bug": true, "tier-cache-bug": true, "fine": true,
		"negative-rate": false, "string-rate": false, "infinite-rate": false,
	} {
		if _, _, ok := table.Lookup("", model); ok != priced {
			t.Errorf("%q priced=%v, want %v", model, ok, priced)
		}
	}
}

func TestWithOverrides(t *testing.T) {
	base := embeddedTable(t)
	table := base.WithOverrides(map[string]Price{
		"mock-1":         {InputPerToken: 1e-06, OutputPerToken: 2e-06},
		"mock-free":      {},
		"gpt-4o":         {InputPerToken: 1e-06, OutputPerToken: 1e-06, CacheReadPerToken: 1e-07},
		"gemini-2.5-pro": {InputPerToken: 4e-06, OutputPerToken: 4e-06},
		"mock-tiered": {InputPerToken: 1e-06, OutputPerToken: 1e-06, CacheReadPerToken: 5e-07,
			Tiers: []Tier{{AboveInputTokens: 1000, Price: Price{InputPerToken: 3e-06}}}},
		"bad-negative": {InputPerToken: -1},
		"bad-nan":      {InputPerToken: math.NaN()},
		"bad-tier":     {InputPerToken: 1, Tiers: []Tier{{AboveInputTokens: 0}}},
		"":             {InputPerToken: 1},
	})
	cases := []struct {
		kind, model string
		u           llm.Usage
		want        float64
		priced      bool
	}{
		// Zero cache rates fall back: the cache read bills at input, 1000 x 1e-06 + 10 x 2e-06.
		{"mock", "mock-1", llm.Usage{InputTokens: 1000, CacheReadTokens: 400, OutputTokens: 10}, 0.00102, true},
		{"mock", "mock-free", llm.Usage{InputTokens: 1000, OutputTokens: 10}, 0, true},
		// Replaced: 500 x 1e-06 + 500 x 1e-07 + 100 x 1e-06.
		{"openai", "gpt-4o", llm.Usage{InputTokens: 1000, CacheReadTokens: 500, OutputTokens: 100}, 0.00065, true},
		// A snapshot keeps its own table price rather than the overridden alias: 1000 x 5e-06.
		{"openai", "gpt-4o-2024-05-13", llm.Usage{InputTokens: 1000}, 0.005, true},
		// A bare override beats the table's gemini/ entry of the same step: 1000 x 4e-06.
		{"gemini", "gemini-2.5-pro", llm.Usage{InputTokens: 1000}, 0.004, true},
		// Tier: the stated input rate; the cache read stays at the base 5e-07 (LiteLLM rule).
		// 1000 x 3e-06 + 1000 x 5e-07 + 10 x 1e-06.
		{"mock", "mock-tiered", llm.Usage{InputTokens: 2000, CacheReadTokens: 1000, OutputTokens: 10}, 0.00351, true},
		{"", "bad-negative", llm.Usage{InputTokens: 1}, 0, false},
		{"", "bad-nan", llm.Usage{InputTokens: 1}, 0, false},
		{"", "bad-tier", llm.Usage{InputTokens: 1}, 0, false},
	}
	for _, c := range cases {
		got, ok := table.Cost(c.kind, c.model, c.u)
		if ok != c.priced || math.Abs(got-c.want) > tolerance {
			t.Errorf("Cost(%q, %q) = %.15f, %v; want %.15f, %v", c.kind, c.model, got, ok, c.want, c.priced)
		}
	}
	warnings := strings.Join(table.Warnings(), "\n")
	for _, want := range []string{`override "bad-negative"`, `override "bad-nan"`, `override "bad-tier"`, "empty model name"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q; got:\n%s", want, warnings)
		}
	}
	// The base table is untouched.
	if usd, _ := base.Cost("openai", "gpt-4o", llm.Usage{InputTokens: 1000}); math.Abs(usd-0.0025) > tolerance {
		t.Errorf("base gpt-4o changed: %g", usd)
	}
	if _, _, ok := base.Lookup("mock", "mock-1"); ok {
		t.Error("base table gained an override")
	}
	if len(base.Warnings()) != 0 {
		t.Error("base table gained warnings")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "mode": "chat"}}`))
	f.Add([]byte(`{"m": {"input_cost_per_token": 1, "input_cost_per_token_above_1k_tokens": 2, "cache_read_input_token_cost_above_1k_tokens": -1}}`))
	f.Add([]byte(`{"m": {"input_cost_per_token": nan, "output_cost_per_token": "x"}, "n": []}`))
	f.Add([]byte(`{"m": {"output_cost_per_token": 1e308, "input_cost_per_token_above_9m_tokens": 1e308}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := Parse(data)
		if err != nil {
			return
		}
		for name, p := range table.models {
			check := func(r *Price) {
				for _, v := range []float64{r.InputPerToken, r.OutputPerToken, r.CacheReadPerToken,
					r.CacheWritePerToken, r.CacheWrite1hPerToken, r.ReasoningPerToken} {
					if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("model %q: rate %g in %+v", name, v, r)
					}
				}
			}
			check(p)
			for i := range p.Tiers {
				check(&p.Tiers[i].Price)
				if i > 0 && p.Tiers[i].AboveInputTokens <= p.Tiers[i-1].AboveInputTokens {
					t.Fatalf("model %q: tiers out of order: %+v", name, p.Tiers)
				}
			}
			usd, ok := table.Cost("", name, llm.Usage{InputTokens: 1 << 40, OutputTokens: 1 << 40})
			if ok && (usd < 0 || math.IsInf(usd, 0) || math.IsNaN(usd)) {
				t.Fatalf("model %q: cost %g", name, usd)
			}
		}
	})
}
