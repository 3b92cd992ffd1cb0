package pricing

import (
	"math"

	"github.com/tracegate/tracegate/llm"
)

// Embedding models are priced from their own entries (LiteLLM mode "embedding"), matched by
// the same name rules as chat models. Only input tokens are billed.

// embeddingModels returns the embedding entries of a table being built, creating them.
func (t *Table) embeddingModels() map[string]*Price {
	if t.embeddings == nil {
		t.embeddings = newTable(0)
	}
	return t.embeddings.models
}

// EmbeddingCost prices an embeddings call for model as served by a provider of kind
// providerKind: the embedding entries first, then an override of that name (WithOverrides),
// so a self-hosted embedding model can be priced from config. ok is false when unpriced.
func (t *Table) EmbeddingCost(providerKind, model string, u llm.Usage) (usd float64, ok bool) {
	if t == nil {
		return 0, false
	}
	p, _, ok := t.embeddings.lookup(providerKind, model)
	if !ok {
		var key string
		if p, key, ok = t.lookup(providerKind, model); !ok || !t.overrides[key] {
			return 0, false
		}
	}
	usd = p.Cost(u)
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return 0, false
	}
	return usd, true
}

// EmbeddingLen is the number of priced embedding models.
func (t *Table) EmbeddingLen() int {
	if t == nil {
		return 0
	}
	return t.embeddings.Len()
}
