package pricing

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/tracegate/tracegate/llm"
)

func TestLookupMatching(t *testing.T) {
	table := embeddedTable(t)
	cases := []struct {
		kind, model, key string // key "" means unpriced
	}{
		{"gemini", "gemini-2.5-pro", "gemini/gemini-2.5-pro"},
		{"gemini", "models/gemini-2.5-flash", "gemini/gemini-2.5-flash"},
		{"gemini", "gemini-2.5-flash", "gemini/gemini-2.5-flash"},
		{"gemini", "gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"},
		{"", "gemini-2.5-pro", "gemini-2.5-pro"},
		{"", "models/gemini-2.5-pro", "gemini-2.5-pro"},
		{"anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"},
		{"anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"anthropic", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"anthropic", "claude-sonnet-4-5-20991231", "claude-sonnet-4-5"},
		{"", "claude-sonnet-4-5@20991231", "claude-sonnet-4-5"},
		{"openai", "gpt-4o", "gpt-4o"},
		{"openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
		{"openai", "gpt-4o-2099-12-31", "gpt-4o"},
		{"openai", "openai/gpt-4o", "gpt-4o"},
		{"openai", "ft:gpt-4o-mini-2024-07-18:acme::AbC123", "ft:gpt-4o-mini-2024-07-18"},
		{"openai", "ft:gpt-4o-mini-2024-07-18:acme:my-suffix:AbC123:ckpt-step-100", "ft:gpt-4o-mini-2024-07-18"},
		{"openai", "ft:gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini-2024-07-18"},
		{"", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"", "apac.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"", "azure/eu/gpt-4o-2024-08-06", "azure/eu/gpt-4o-2024-08-06"},
		{"", "azure/eu/gpt-4.1-2025-04-14", "azure/gpt-4.1-2025-04-14"},
		{"openai", "groq/llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile"},
		{"", "acme-llm-9000", ""},
		{"mock", "mock-1", ""},
		{"", "", ""},
		{"", "models/", ""},
		{"", "ft:", ""},
		{"", "ft:acme-base:org::id", ""},
		{"openai", "gpt-4o-12345678", ""}, // not a date: no fallback to gpt-4o
		{"", "us.", ""},
		{"", "azure/eu/", ""},
	}
	for _, c := range cases {
		for range 2 { // the second round is served from the cache
			price, key, ok := table.Lookup(c.kind, c.model)
			if ok != (c.key != "") || key != c.key {
				t.Errorf("Lookup(%q, %q) = %q, %v; want %q", c.kind, c.model, key, ok, c.key)
				break
			}
			if ok && price.InputPerToken <= 0 {
				t.Errorf("Lookup(%q, %q): input rate %g", c.kind, c.model, price.InputPerToken)
			}
			if _, costOK := table.Cost(c.kind, c.model, llm.Usage{InputTokens: 1}); costOK != ok {
				t.Errorf("Cost(%q, %q) priced=%v but Lookup=%v", c.kind, c.model, costOK, ok)
			}
		}
	}
}

func TestUndated(t *testing.T) {
	cases := map[string]string{
		"gpt-4o-2024-05-13":          "gpt-4o",
		"claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
		"claude-sonnet-4-5@20250929": "claude-sonnet-4-5",
		"x-2024-5-13":                "",
		"gpt-4o-12345678":            "",
		"gpt-4o-2024-05-1x":          "",
		"-20250929":                  "",
		"2024-05-13":                 "",
		"o3":                         "",
	}
	for in, want := range cases {
		got, ok := undated(in)
		if ok != (want != "") || got != want {
			t.Errorf("undated(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestLookupIsAllocationFree(t *testing.T) {
	table := embeddedTable(t)
	u := llm.Usage{InputTokens: 12000, OutputTokens: 500, CacheReadTokens: 10000, Known: true}
	for _, c := range []struct{ kind, model string }{
		{"openai", "gpt-4o"},
		{"gemini", "gemini-2.5-pro"},
		{"gemini", "models/gemini-2.5-flash"},
		{"anthropic", "claude-sonnet-4-5-20250929"},
		{"openai", "ft:gpt-4o-mini-2024-07-18:acme::AbC123"},
		{"", "acme-llm-9000"},
	} {
		table.Cost(c.kind, c.model, u) // fill the cache
		allocs := testing.AllocsPerRun(200, func() {
			table.Cost(c.kind, c.model, u)
			table.Lookup(c.kind, c.model)
		})
		if allocs != 0 {
			t.Errorf("Cost+Lookup(%q, %q): %v allocations per run, want 0", c.kind, c.model, allocs)
		}
	}
}

func TestMatchCacheIsBounded(t *testing.T) {
	table, err := Parse([]byte(`{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*matchCacheMax + 10 {
		if _, ok := table.Cost("", fmt.Sprintf("made-up-%d", i), llm.Usage{}); ok {
			t.Fatal("made-up model priced")
		}
		if n := table.cache.len(); n > matchCacheMax {
			t.Fatalf("cache holds %d entries, bound is %d", n, matchCacheMax)
		}
	}
	if _, ok := table.Cost("", "m", llm.Usage{}); !ok {
		t.Fatal("m unpriced after cache turnover")
	}
}

// TestMatchCacheKeepsOwnCopy guards against callers that pass strings aliasing a buffer they
// reuse (fasthttp request bodies converted without copying).
func TestMatchCacheKeepsOwnCopy(t *testing.T) {
	table := embeddedTable(t).WithOverrides(nil)
	buf := []byte("gpt-4o")
	model := unsafe.String(&buf[0], len(buf))
	if _, key, ok := table.Lookup("openai", model); !ok || key != "gpt-4o" {
		t.Fatalf("Lookup = %q, %v", key, ok)
	}
	copy(buf, "xxxxxx")
	if _, ok := table.cache.get("openai", "gpt-4o"); !ok {
		t.Fatal("cache entry changed with the caller's buffer")
	}
	if _, ok := table.cache.get("openai", "xxxxxx"); ok {
		t.Fatal("cache key aliases the caller's buffer")
	}
}

func TestConcurrentCost(t *testing.T) {
	table := embeddedTable(t).WithOverrides(map[string]Price{"mock-1": {InputPerToken: 1e-6, OutputPerToken: 1e-6}})
	models := []string{"gpt-4o", "claude-sonnet-4-5-20250929", "gemini-2.5-pro", "mock-1", "acme", "gpt-4o-2099-01-01"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				model := models[(g+i)%len(models)]
				if i%50 == 0 {
					model = fmt.Sprintf("unknown-%d-%d", g, i)
				}
				usd, ok := table.Cost("gemini", model, llm.Usage{InputTokens: 100, OutputTokens: 10})
				if ok && usd <= 0 {
					t.Errorf("Cost(%q) = %g", model, usd)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNilTable(t *testing.T) {
	var table *Table
	if _, ok := table.Cost("openai", "gpt-4o", llm.Usage{}); ok {
		t.Error("nil table priced a model")
	}
	if _, _, ok := table.Lookup("openai", "gpt-4o"); ok {
		t.Error("nil table looked up a model")
	}
	if table.Len() != 0 || table.Warnings() != nil {
		t.Error("nil table is not empty")
	}
	withMock := table.WithOverrides(map[string]Price{"mock-1": {InputPerToken: 1e-6}})
	if _, ok := withMock.Cost("mock", "mock-1", llm.Usage{InputTokens: 1}); !ok {
		t.Error("override on a nil table not priced")
	}
}

func FuzzCost(f *testing.F) {
	f.Add("gemini", "models/gemini-2.5-pro", int64(250000), int64(5000), int64(50000), int64(0), int64(0), int64(4000))
	f.Add("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", int64(1), int64(1), int64(2), int64(0), int64(0), int64(3))
	f.Add("", "us.azure/eu/ft:-2024-01-01@20250101", int64(-1), int64(0), int64(0), int64(0), int64(0), int64(0))
	table, err := Embedded()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind, model string, in, out, cacheRead, cacheWrite, cacheWrite1h, reasoning int64) {
		u := llm.Usage{InputTokens: in, OutputTokens: out, CacheReadTokens: cacheRead,
			CacheWriteTokens: cacheWrite, CacheWrite1hTokens: cacheWrite1h, ReasoningTokens: reasoning}
		usd, ok := table.Cost(kind, model, u)
		if !ok {
			if usd != 0 {
				t.Fatalf("unpriced cost %g", usd)
			}
			return
		}
		if usd < 0 || usd != usd {
			t.Fatalf("Cost(%q, %q, %+v) = %g", kind, model, u, usd)
		}
	})
}
