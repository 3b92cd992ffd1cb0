package gemini

import (
	"strconv"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// decodeUsage normalises usageMetadata (SPEC 3.4). Gemini omits zero counters, so absent
// fields are 0; Known says whether the object was there at all.
func decodeUsage(reply *fastjson.Value) llm.Usage {
	um := reply.Get("usageMetadata")
	if um == nil || um.Type() != fastjson.TypeObject {
		return llm.Usage{}
	}
	prompt := tokenCount(um, "promptTokenCount")
	toolPrompt := tokenCount(um, "toolUsePromptTokenCount")
	candidates := tokenCount(um, "candidatesTokenCount")
	thoughts := tokenCount(um, "thoughtsTokenCount")
	return llm.Usage{
		// promptTokenCount already includes cached tokens; tool-use prompts are extra input.
		InputTokens:     prompt + toolPrompt,
		CacheReadTokens: tokenCount(um, "cachedContentTokenCount"),
		// candidatesTokenCount excludes thoughts, which are billed as output too.
		OutputTokens:    candidates + thoughts,
		ReasoningTokens: thoughts,
		Known:           true,
	}
}

// tokenCount reads a counter, accepting the proto3 JSON string form of integers; anything
// unreadable or negative counts as 0.
func tokenCount(um *fastjson.Value, key string) int64 {
	v := um.Get(key)
	if v == nil {
		return 0
	}
	var n int64
	switch v.Type() {
	case fastjson.TypeNumber:
		var err error
		if n, err = v.Int64(); err != nil {
			f, _ := v.Float64()
			if f > 0 && f < 1<<62 {
				n = int64(f)
			}
		}
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		n, _ = strconv.ParseInt(string(s), 10, 64)
	}
	return max(n, 0)
}
