package anthropic

import "github.com/tracegate/tracegate/llm"

const (
	// Version is the value of the anthropic-version header every request must carry.
	Version = "2023-06-01"
	// MessagesPath is the Messages API endpoint, relative to the provider's base URL.
	MessagesPath = "/v1/messages"
	// DefaultMaxTokens fills max_tokens, which Anthropic requires, when the request sets none.
	DefaultMaxTokens = 4096
	// JSONToolName names the synthetic tool EncodeRequestWith declares when
	// EncodeOptions.ForceToolForJSON is set. The decoders recognise it by this name and report
	// its input as the reply text, so callers must not name a tool of their own like this.
	JSONToolName = "tracegate_json_output"
)

// FinishReason maps an Anthropic stop_reason to the canonical finish reason. Unknown reasons
// map to stop: the reply is complete, only the cause is new.
func FinishReason(stopReason string) llm.FinishReason {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

// finishReason is FinishReason adjusted for the forced JSON tool: a reply whose only tool call
// was the synthetic one is a finished answer, not a request to run tools.
func finishReason(stopReason string, sawJSONTool bool, realToolCalls int) llm.FinishReason {
	if stopReason == "tool_use" && sawJSONTool && realToolCalls == 0 {
		return llm.FinishStop
	}
	return FinishReason(stopReason)
}
