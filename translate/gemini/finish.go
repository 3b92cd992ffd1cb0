package gemini

import "github.com/tracegate/tracegate/llm"

// mapFinishReason normalises a candidate's finishReason (SPEC 3.3). Gemini has no tool-call
// reason: a candidate with function calls ends with STOP, so sawCalls decides.
func mapFinishReason(raw string, sawCalls bool) llm.FinishReason {
	switch raw {
	case "STOP", "":
		if sawCalls {
			return llm.FinishToolCalls
		}
		return llm.FinishStop
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return llm.FinishContentFilter
	}
	// MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE, ...: no better match; RawFinishReason keeps it.
	return llm.FinishStop
}
