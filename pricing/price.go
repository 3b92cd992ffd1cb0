package pricing

import "github.com/tracegate/tracegate/llm"

// Price is one model's rates in USD per token.
//
// A Price held by a Table is complete: rates the source left out are already filled in
// (cache read and cache writes at the input rate, the 1-hour write at the 5-minute write
// rate, reasoning at the output rate), so a zero rate means free. In a Price passed to
// WithOverrides a zero cache or reasoning rate means "not given" and is filled in the same way.
type Price struct {
	InputPerToken        float64
	OutputPerToken       float64
	CacheReadPerToken    float64
	CacheWritePerToken   float64
	CacheWrite1hPerToken float64
	ReasoningPerToken    float64
	// Tiers are long-context prices in ascending AboveInputTokens order. The highest tier
	// whose threshold the prompt is strictly above prices the whole request.
	Tiers []Tier
}

// Tier is the price of a request whose prompt (InputTokens, cache included) is strictly
// above AboveInputTokens. Its Price has no Tiers of its own.
type Tier struct {
	AboveInputTokens int64
	Price            Price
}

// Cost prices u at p. A negative count counts as zero, and the uncached input and the
// visible output never go below zero, so inconsistent usage can skew a cost but never make it
// negative.
func (p *Price) Cost(u llm.Usage) float64 {
	r := p.forPrompt(u.InputTokens)
	input := max(u.InputTokens, 0)
	cacheRead := max(u.CacheReadTokens, 0)
	cacheWrite := max(u.CacheWriteTokens, 0)
	cacheWrite1h := max(u.CacheWrite1hTokens, 0)
	uncached := max(input-cacheRead-cacheWrite-cacheWrite1h, 0)
	output := max(u.OutputTokens, 0)
	reasoning := max(u.ReasoningTokens, 0)
	visible := max(output-reasoning, 0)
	return float64(uncached)*r.InputPerToken +
		float64(cacheRead)*r.CacheReadPerToken +
		float64(cacheWrite)*r.CacheWritePerToken +
		float64(cacheWrite1h)*r.CacheWrite1hPerToken +
		float64(visible)*r.OutputPerToken +
		float64(reasoning)*r.ReasoningPerToken
}

// forPrompt returns the rates that apply to a prompt of promptTokens.
func (p *Price) forPrompt(promptTokens int64) *Price {
	for i := len(p.Tiers) - 1; i >= 0; i-- {
		if promptTokens > p.Tiers[i].AboveInputTokens {
			return &p.Tiers[i].Price
		}
	}
	return p
}
