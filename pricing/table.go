package pricing

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"

	"github.com/tracegate/tracegate/llm"
)

// Table is an immutable price table, safe for concurrent use. Use it by pointer.
type Table struct {
	models map[string]*Price
	// overrides names the models WithOverrides set: they win over table entries that the
	// same lookup step would also match (see match).
	overrides map[string]bool
	warnings  []string
	cache     matchCache
	// embeddings holds the embedding models, apart so that chat lookups never match one
	// (LiteLLM has "gemini/gemini-1.5-flash" as an embedding entry). Nil when there are none.
	embeddings *Table
}

func newTable(size int) *Table {
	return &Table{models: make(map[string]*Price, size)}
}

// LoadFile reads a price file in the LiteLLM JSON format (see Parse).
func LoadFile(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load price file: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load price file %s: %w", path, err)
	}
	return t, nil
}

// WithOverrides returns a copy of t with the given models added or replaced. Names are used as
// given and matched like any other (so "mock-1" prices exactly the model mock-1). An override
// is priced even at all-zero rates, so a free self-hosted model reports cost 0 as priced.
// Zero cache and reasoning rates fall back as documented on Price. An override with a
// negative or non-finite rate, or a tier threshold below 1, is skipped with a warning.
func (t *Table) WithOverrides(overrides map[string]Price) *Table {
	base := t
	if base == nil {
		base = newTable(0)
	}
	out := &Table{
		models:     maps.Clone(base.models),
		overrides:  maps.Clone(base.overrides),
		warnings:   slices.Clone(base.warnings),
		embeddings: base.embeddings,
	}
	if out.models == nil {
		out.models = map[string]*Price{}
	}
	if out.overrides == nil {
		out.overrides = map[string]bool{}
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		o := overrides[name]
		if name == "" {
			out.warnings = append(out.warnings, "override with an empty model name, ignored")
			continue
		}
		if msg := badTier(o.Tiers); msg != "" {
			out.warnings = append(out.warnings, fmt.Sprintf("override %q: %s, ignored", name, msg))
			continue
		}
		e := fromOverride(o)
		if msg := e.invalid(); msg != "" {
			out.warnings = append(out.warnings, fmt.Sprintf("override %q: %s, ignored", name, msg))
			continue
		}
		price := e.resolve()
		out.warnings = append(out.warnings, implausible(name, &price)...)
		out.models[name] = &price
		out.overrides[name] = true
	}
	return out
}

func badTier(tiers []Tier) string {
	for _, tier := range tiers {
		if tier.AboveInputTokens < 1 {
			return fmt.Sprintf("tier threshold %d is not a positive token count", tier.AboveInputTokens)
		}
		if len(tier.Price.Tiers) > 0 {
			return "a tier has tiers of its own"
		}
	}
	return ""
}

// Warnings lists implausible data the table was built from (a cache-read rate above the input
// rate, negative or non-numeric rates), one line per problem, for the caller to log.
func (t *Table) Warnings() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.warnings)
}

// Len is the number of priced models.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.models)
}

// Lookup finds the price of model as served by a provider of kind providerKind ("openai",
// "anthropic", "gemini", "mock", or "" when unknown) and the table key it matched. Gemini's
// "models/" prefix is dropped, then these steps run in order and the first hit wins:
//
//  1. the name as given;
//  2. a fine-tune "ft:<base>:<org>:...:<id>" as "ft:<base>";
//  3. a Bedrock cross-region id ("us.", "eu.", "apac.", "global.", "au.", "jp.", ...) as the
//     in-region id;
//  4. an Azure data-zone id ("azure/eu/...", "azure/us/...") as the global "azure/..." one;
//  5. a dated id ("-YYYY-MM-DD", "-YYYYMMDD", "@YYYYMMDD") as its undated alias.
//
// Each step tries the name both bare and under the provider's namespace: bare first for
// openai and anthropic (LiteLLM keys their models bare), "gemini/<name>" first for gemini
// (the bare key is the Vertex AI price). Within a step an override beats a table entry.
//
// Results, misses included, are cached (bounded), so a repeat lookup does not allocate. The
// returned Price shares its Tiers with the table and must not be modified.
func (t *Table) Lookup(providerKind, model string) (price Price, matchedKey string, ok bool) {
	p, key, ok := t.lookup(providerKind, model)
	if !ok {
		return Price{}, "", false
	}
	return *p, key, true
}

// Cost prices usage for model as served by a provider of kind providerKind. ok is false when
// the model is unpriced: the caller reports cost 0 with tracegate.cost.status=unpriced.
func (t *Table) Cost(providerKind, model string, u llm.Usage) (usd float64, ok bool) {
	p, _, ok := t.lookup(providerKind, model)
	if !ok {
		return 0, false
	}
	usd = p.Cost(u)
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return 0, false
	}
	return usd, true
}

func (t *Table) lookup(kind, model string) (*Price, string, bool) {
	if t == nil || model == "" {
		return nil, "", false
	}
	if m, ok := t.cache.get(kind, model); ok {
		return m.price, m.key, m.price != nil
	}
	p, key := t.match(kind, model)
	t.cache.put(kind, model, cachedMatch{price: p, key: key})
	return p, key, p != nil
}
