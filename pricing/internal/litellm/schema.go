package litellm

import "strings"

// Field is one per-token rate of a LiteLLM entry.
type Field int

// The rates tracegate prices with. Service tiers (_priority, _flex, _batches), media and
// per-request rates are not read: the gateway's chat calls never bill them.
const (
	Input        Field = iota // input_cost_per_token
	Output                    // output_cost_per_token
	CacheRead                 // cache_read_input_token_cost
	CacheHit                  // input_cost_per_token_cache_hit (DeepSeek's name for a cache read)
	CacheWrite                // cache_creation_input_token_cost (5-minute TTL)
	CacheWrite1h              // cache_creation_input_token_cost_above_1hr
	Reasoning                 // output_cost_per_reasoning_token
	NumFields
)

// fieldKeys is ordered so that a key that extends another (…_above_1hr extends
// cache_creation_input_token_cost) is tried first.
var fieldKeys = [...]struct {
	key   string
	field Field
}{
	{"cache_creation_input_token_cost_above_1hr", CacheWrite1h},
	{"cache_creation_input_token_cost", CacheWrite},
	{"cache_read_input_token_cost", CacheRead},
	{"input_cost_per_token_cache_hit", CacheHit},
	{"input_cost_per_token", Input},
	{"output_cost_per_reasoning_token", Reasoning},
	{"output_cost_per_token", Output},
}

// Key returns the LiteLLM key of f at the base (untiered) rate.
func (f Field) Key() string {
	for _, k := range fieldKeys {
		if k.field == f {
			return k.key
		}
	}
	return ""
}

// ParseRateKey reports which rate key names: its field, and for a long-context key such as
// input_cost_per_token_above_200k_tokens the prompt size it applies above (200000); 0 for a
// base rate. ok is false for every key tracegate does not price with.
func ParseRateKey(key string) (field Field, aboveTokens int64, ok bool) {
	for _, k := range fieldKeys {
		if key == k.key {
			return k.field, 0, true
		}
		rest, found := strings.CutPrefix(key, k.key)
		if !found {
			continue
		}
		rest, found = strings.CutPrefix(rest, "_above_")
		if !found {
			continue
		}
		if n, ok := parseThreshold(rest); ok {
			return k.field, n, true
		}
	}
	return 0, 0, false
}

// parseThreshold reads "200k_tokens" (or "1m_tokens") as a token count.
func parseThreshold(s string) (int64, bool) {
	var unit int64
	switch {
	case strings.HasSuffix(s, "k_tokens"):
		unit, s = 1_000, strings.TrimSuffix(s, "k_tokens")
	case strings.HasSuffix(s, "m_tokens"):
		unit, s = 1_000_000, strings.TrimSuffix(s, "m_tokens")
	default:
		return 0, false
	}
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n == 0 {
		return 0, false
	}
	return n * unit, true
}

// EmbeddingMode is the mode of embedding models, priced per input token like chat models but
// kept apart from them (pricing.Table.EmbeddingCost), so a chat call never matches one.
const EmbeddingMode = "embedding"

// PricedMode reports whether tracegate prices entries of this mode: chat-capable ones
// (ChatMode) and embedding models.
func PricedMode(mode string) bool { return ChatMode(mode) || mode == EmbeddingMode }

// ChatMode reports whether an entry of this mode can serve a chat call: chat and completion
// models, and OpenAI's responses-only models (priced the same way).
func ChatMode(mode string) bool {
	switch mode {
	case "chat", "completion", "responses":
		return true
	}
	return false
}
