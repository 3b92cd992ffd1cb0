package pricing

import (
	"fmt"
	"math"
	"slices"

	"github.com/tracegate/tracegate/pricing/internal/litellm"
)

// rateSet is what one level of an entry (its base, or one long-context tier) states, with
// "left out" kept apart from "zero": a tier inherits only what it leaves out.
type rateSet struct {
	rate [litellm.NumFields]float64
	has  [litellm.NumFields]bool
}

func (s *rateSet) set(f litellm.Field, v float64) { s.rate[f], s.has[f] = v, true }

// rawEntry is one model's rates as its source wrote them.
type rawEntry struct {
	base  rateSet
	tiers []rawTier
}

type rawTier struct {
	above int64
	rates rateSet
}

// level returns the rates stated for prompts above aboveTokens (0: the base rates).
func (e *rawEntry) level(aboveTokens int64) *rateSet {
	if aboveTokens == 0 {
		return &e.base
	}
	for i := range e.tiers {
		if e.tiers[i].above == aboveTokens {
			return &e.tiers[i].rates
		}
	}
	e.tiers = append(e.tiers, rawTier{above: aboveTokens})
	return &e.tiers[len(e.tiers)-1].rates
}

// invalid describes the first rate no price can have (negative, NaN or infinite), or "".
func (e *rawEntry) invalid() string {
	check := func(s *rateSet, above int64) string {
		for f, v := range s.rate {
			if s.has[f] && (v < 0 || math.IsNaN(v) || math.IsInf(v, 0)) {
				return fmt.Sprintf("%s is %g", rateKey(litellm.Field(f), above), v)
			}
		}
		return ""
	}
	if msg := check(&e.base, 0); msg != "" {
		return msg
	}
	for i := range e.tiers {
		if msg := check(&e.tiers[i].rates, e.tiers[i].above); msg != "" {
			return msg
		}
	}
	return ""
}

// resolve builds the complete Price. Following LiteLLM, a tier's rate is the one the tier
// states, else the base one; a rate neither states takes its documented fallback from the
// same level, so a tier's missing cache-read rate follows the tier's input rate.
func (e *rawEntry) resolve() Price {
	p := fill(&e.base, nil)
	tiers := slices.Clone(e.tiers)
	slices.SortFunc(tiers, func(a, b rawTier) int {
		switch {
		case a.above < b.above:
			return -1
		case a.above > b.above:
			return 1
		}
		return 0
	})
	for i := range tiers {
		p.Tiers = append(p.Tiers, Tier{AboveInputTokens: tiers[i].above, Price: fill(&tiers[i].rates, &e.base)})
	}
	return p
}

func fill(level, base *rateSet) Price {
	get := func(f litellm.Field) (float64, bool) {
		if level.has[f] {
			return level.rate[f], true
		}
		if base != nil && base.has[f] {
			return base.rate[f], true
		}
		return 0, false
	}
	or := func(f litellm.Field, fallback float64) float64 {
		if v, ok := get(f); ok {
			return v
		}
		return fallback
	}
	var p Price
	p.InputPerToken = or(litellm.Input, 0)
	p.OutputPerToken = or(litellm.Output, 0)
	p.CacheReadPerToken = or(litellm.CacheRead, or(litellm.CacheHit, p.InputPerToken))
	p.CacheWritePerToken = or(litellm.CacheWrite, p.InputPerToken)
	p.CacheWrite1hPerToken = or(litellm.CacheWrite1h, p.CacheWritePerToken)
	p.ReasoningPerToken = or(litellm.Reasoning, p.OutputPerToken)
	return p
}

// implausible describes rates that are valid but almost certainly wrong, for a warning.
func implausible(name string, p *Price) []string {
	var warnings []string
	check := func(r *Price, where string) {
		if r.CacheReadPerToken > r.InputPerToken {
			warnings = append(warnings, fmt.Sprintf("model %q%s: cache read rate %g is above the input rate %g",
				name, where, r.CacheReadPerToken, r.InputPerToken))
		}
	}
	check(p, "")
	for i := range p.Tiers {
		check(&p.Tiers[i].Price, fmt.Sprintf(" above %d prompt tokens", p.Tiers[i].AboveInputTokens))
	}
	return warnings
}

// fromOverride reads a configured Price, in which zero means "not given". Tier thresholds
// must be positive (see WithOverrides).
func fromOverride(p Price) rawEntry {
	var e rawEntry
	stated := func(s *rateSet, r *Price, always bool) {
		for _, rate := range [...]struct {
			field litellm.Field
			value float64
		}{
			{litellm.Input, r.InputPerToken},
			{litellm.Output, r.OutputPerToken},
			{litellm.CacheRead, r.CacheReadPerToken},
			{litellm.CacheWrite, r.CacheWritePerToken},
			{litellm.CacheWrite1h, r.CacheWrite1hPerToken},
			{litellm.Reasoning, r.ReasoningPerToken},
		} {
			// The base always states input and output (zero there means free); a tier's
			// zero inherits the base rate like any rate it leaves out.
			if rate.value != 0 || (always && (rate.field == litellm.Input || rate.field == litellm.Output)) {
				s.set(rate.field, rate.value)
			}
		}
	}
	stated(&e.base, &p, true)
	for i := range p.Tiers {
		stated(e.level(p.Tiers[i].AboveInputTokens), &p.Tiers[i].Price, false)
	}
	return e
}

func rateKey(f litellm.Field, above int64) string {
	if above == 0 {
		return f.Key()
	}
	return fmt.Sprintf("%s above %d tokens", f.Key(), above)
}
