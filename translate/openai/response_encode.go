package openai

import (
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// EncodeResponse appends resp as a chat.completion body, for a client of tracegate's
// /v1/chat/completions whose request was served by another format. content is null when the
// reply is only tool calls; usage is omitted when it is unknown. Tool-call arguments that are
// not a JSON object (which decoders never produce) are sent as "{}".
func EncodeResponse(dst []byte, resp *llm.Response, created int64) []byte {
	if resp == nil {
		resp = &llm.Response{}
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, resp.ID)
	dst = append(dst, `,"object":"chat.completion","created":`...)
	dst = strconv.AppendInt(dst, created, 10)
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, resp.Model)
	dst = append(dst, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if resp.HasText || len(resp.ToolCalls) == 0 {
		dst = jsonw.String(dst, resp.Text)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"refusal":null`...)
	if len(resp.ToolCalls) > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for i := range resp.ToolCalls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendResponseToolCall(dst, &resp.ToolCalls[i])
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `},"logprobs":null,"finish_reason":"`...)
	dst = append(dst, finishReason(resp.FinishReason)...)
	dst = append(dst, `"}]`...)
	if resp.Usage.Known {
		dst = append(dst, `,"usage":`...)
		dst = appendUsage(dst, resp.Usage)
	}
	return append(dst, '}')
}

// appendResponseToolCall writes a reply's tool call; arguments a provider sent malformed go
// out as {} rather than failing the whole reply.
func appendResponseToolCall(dst []byte, c *llm.ToolCall) []byte {
	args, err := toolArguments(c.Arguments)
	if err != nil {
		args = []byte("{}")
	}
	return appendToolCall(dst, c, args)
}

// finishReason returns the wire finish_reason: the canonical set is OpenAI's, and a reply that
// ended without one ended naturally.
func finishReason(r llm.FinishReason) string {
	switch r {
	case llm.FinishLength, llm.FinishToolCalls, llm.FinishContentFilter:
		return string(r)
	}
	return string(llm.FinishStop)
}

// appendUsage appends a CompletionUsage object; the canonical counts already follow OpenAI's
// convention (cached inside prompt, reasoning inside completion).
func appendUsage(dst []byte, u llm.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, u.InputTokens, 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, u.OutputTokens, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, u.TotalTokens(), 10)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheReadTokens, 10)
	if writes := u.CacheWriteTokens + u.CacheWrite1hTokens; writes > 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = strconv.AppendInt(dst, writes, 10)
	}
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, u.ReasoningTokens, 10)
	return append(dst, '}', '}')
}
