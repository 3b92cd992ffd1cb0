package pricing

import "github.com/tracegate/tracegate/llm"

// STUB: replaced by the real implementation (issue "Pricing").

// Price is one model's rates in USD per token. Zero rates that the table leaves out fall back
// as documented on Cost.
type Price struct {
	InputPerToken        float64
	OutputPerToken       float64
	CacheReadPerToken    float64
	CacheWritePerToken   float64
	CacheWrite1hPerToken float64
	ReasoningPerToken    float64
}

// Table is an immutable price table, safe for concurrent use.
type Table struct{ models map[string]Price }

// Embedded returns the table compiled into the binary.
func Embedded() (*Table, error) { return &Table{models: map[string]Price{}}, nil }

// LoadFile reads a price file in the LiteLLM JSON format.
func LoadFile(path string) (*Table, error) { return &Table{models: map[string]Price{}}, nil }

// WithOverrides returns a copy of t with the given models added or replaced.
func (t *Table) WithOverrides(overrides map[string]Price) *Table {
	m := make(map[string]Price, len(t.models)+len(overrides))
	for k, v := range t.models {
		m[k] = v
	}
	for k, v := range overrides {
		m[k] = v
	}
	return &Table{models: m}
}

// Cost prices usage for model as served by a provider of kind providerKind ("openai",
// "anthropic", "gemini", "mock"). ok is false when the model is unpriced.
func (t *Table) Cost(providerKind, model string, u llm.Usage) (usd float64, ok bool) {
	p, ok := t.models[model]
	if !ok {
		return 0, false
	}
	return float64(u.InputTokens-u.CacheReadTokens)*p.InputPerToken + float64(u.CacheReadTokens)*p.CacheReadPerToken + float64(u.OutputTokens)*p.OutputPerToken, true
}
