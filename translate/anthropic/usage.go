package anthropic

import (
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// wireUsage is an Anthropic usage object as sent, with which fields were present, so that a
// stream's message_delta can override message_start field by field.
type wireUsage struct {
	input, cacheCreation, cacheRead, ephemeral5m, ephemeral1h, output, thinking int64

	hasInput, hasCacheCreation, hasCacheRead, hasSplit, hasOutput, hasThinking bool
}

// parseUsage reads a usage object; ok is false when v is not an object.
func parseUsage(v *fastjson.Value) (u wireUsage, ok bool) {
	if v == nil || v.Type() != fastjson.TypeObject {
		return u, false
	}
	u.input, u.hasInput = count(v, "input_tokens")
	u.cacheCreation, u.hasCacheCreation = count(v, "cache_creation_input_tokens")
	u.cacheRead, u.hasCacheRead = count(v, "cache_read_input_tokens")
	u.output, u.hasOutput = count(v, "output_tokens")
	if split := v.Get("cache_creation"); split != nil && split.Type() == fastjson.TypeObject {
		u.hasSplit = true
		u.ephemeral5m, _ = count(split, "ephemeral_5m_input_tokens")
		u.ephemeral1h, _ = count(split, "ephemeral_1h_input_tokens")
	}
	if details := v.Get("output_tokens_details"); details != nil {
		u.thinking, u.hasThinking = count(details, "thinking_tokens")
	}
	return u, true
}

// count reads a non-negative integer field; a missing, null or malformed one is absent.
func count(v *fastjson.Value, key string) (int64, bool) {
	f := v.Get(key)
	if f == nil || f.Type() != fastjson.TypeNumber {
		return 0, false
	}
	n, err := f.Int64()
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// overlay returns u with every field present in later replacing u's: Anthropic's
// message_delta usage is cumulative, never an increment.
func (u wireUsage) overlay(later wireUsage) wireUsage {
	if later.hasInput {
		u.input, u.hasInput = later.input, true
	}
	if later.hasCacheCreation {
		// A new total invalidates the old TTL split; the later one's split (or none) goes with it.
		u.cacheCreation, u.hasCacheCreation = later.cacheCreation, true
		u.ephemeral5m, u.ephemeral1h, u.hasSplit = later.ephemeral5m, later.ephemeral1h, later.hasSplit
	} else if later.hasSplit {
		u.ephemeral5m, u.ephemeral1h, u.hasSplit = later.ephemeral5m, later.ephemeral1h, true
	}
	if later.hasCacheRead {
		u.cacheRead, u.hasCacheRead = later.cacheRead, true
	}
	if later.hasOutput {
		u.output, u.hasOutput = later.output, true
	}
	if later.hasThinking {
		u.thinking, u.hasThinking = later.thinking, true
	}
	return u
}

// canonical normalises per SPEC 2.4: Anthropic's input_tokens excludes cache reads and writes,
// the canonical InputTokens includes them.
func (u wireUsage) canonical() llm.Usage {
	out := llm.Usage{
		InputTokens:     u.input + u.cacheCreation + u.cacheRead,
		OutputTokens:    u.output,
		CacheReadTokens: u.cacheRead,
		ReasoningTokens: u.thinking,
		Known:           true,
	}
	if u.hasSplit {
		out.CacheWriteTokens = u.ephemeral5m
		out.CacheWrite1hTokens = u.ephemeral1h
	} else {
		// Older replies have no TTL split; all writes were then 5-minute writes.
		out.CacheWriteTokens = u.cacheCreation
	}
	return out
}
