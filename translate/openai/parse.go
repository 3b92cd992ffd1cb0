package openai

import (
	"errors"
	"math"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// ErrMalformed marks a body or stream from upstream that is not the Chat Completions shape. It
// is the provider's fault, so it never wraps llm.ErrInvalidRequest.
var ErrMalformed = errors.New("malformed openai payload")

// providerName is the Provider set on errors decoded without a configured name; callers that
// know the configured name overwrite it.
const providerName = "openai"

var parsers fastjson.ParserPool

// str returns the string at key, or "" when it is absent or not a string. The copy is needed:
// the parser's memory is reused by the next parse.
func str(v *fastjson.Value, key string) string {
	return string(v.GetStringBytes(key))
}

// internedStr is str for values of few distinct strings (model names, finish reasons): one
// shared copy of each (see modelNames).
func internedStr(v *fastjson.Value, key string) string {
	return modelNames.Bytes(v.GetStringBytes(key))
}

// isNull reports whether v is absent or JSON null.
func isNull(v *fastjson.Value) bool {
	return v == nil || v.Type() == fastjson.TypeNull
}

// tokenCount reads a token count, accepting the float spelling (1.0) some compatible servers
// use; anything else counts as 0.
func tokenCount(v *fastjson.Value, keys ...string) int64 {
	n := v.Get(keys...)
	if n == nil || n.Type() != fastjson.TypeNumber {
		return 0
	}
	if i, err := n.Int64(); err == nil {
		return max(i, 0)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f <= 0 || f > math.MaxInt64/2 {
		return 0
	}
	return int64(f)
}

// usageFrom reads a CompletionUsage object (SPEC 1.4). prompt_tokens and completion_tokens
// already include the cached and reasoning sub-counts, so nothing is added to them.
func usageFrom(u *fastjson.Value) (llm.Usage, bool) {
	if u == nil || u.Type() != fastjson.TypeObject {
		return llm.Usage{}, false
	}
	return llm.Usage{
		InputTokens:      tokenCount(u, "prompt_tokens"),
		OutputTokens:     tokenCount(u, "completion_tokens"),
		CacheReadTokens:  tokenCount(u, "prompt_tokens_details", "cached_tokens"),
		CacheWriteTokens: tokenCount(u, "prompt_tokens_details", "cache_write_tokens"),
		ReasoningTokens:  tokenCount(u, "completion_tokens_details", "reasoning_tokens"),
		Known:            true,
	}, true
}

// normalizeFinish maps a wire finish_reason to the canonical set. Unknown reasons from
// compatible servers (eos, end_turn, ...) mean a natural stop; the raw value is kept separately.
func normalizeFinish(raw string) llm.FinishReason {
	switch raw {
	case "length":
		return llm.FinishLength
	case "tool_calls", "function_call":
		return llm.FinishToolCalls
	case "content_filter":
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

// upstreamErrorFrom decodes an OpenAI error object ({message, type, param, code}). code may be
// a string, a number or null depending on the server.
func upstreamErrorFrom(provider string, status int, e *fastjson.Value) *llm.UpstreamError {
	ue := &llm.UpstreamError{Provider: provider, Status: status}
	if e == nil {
		return ue
	}
	if e.Type() == fastjson.TypeString {
		ue.Message = string(e.GetStringBytes())
		return ue
	}
	ue.Message = str(e, "message")
	ue.Type = str(e, "type")
	switch c := e.Get("code"); {
	case c == nil:
	case c.Type() == fastjson.TypeString:
		ue.Code = string(c.GetStringBytes())
	case c.Type() == fastjson.TypeNumber:
		ue.Code = string(c.MarshalTo(nil))
	}
	if ue.Message == "" {
		ue.Message = str(e, "detail") // FastAPI-based servers
	}
	if ue.Type == "" {
		if t := e.Get("status"); t != nil && t.Type() == fastjson.TypeString {
			ue.Type = string(t.GetStringBytes())
		}
	}
	return ue
}

// streamErrorFrom decodes an error payload inside a 200 body or stream (Status 0).
func streamErrorFrom(e *fastjson.Value) *llm.UpstreamError {
	ue := upstreamErrorFrom(providerName, 0, e)
	if ue.Message == "" && ue.Type == "" {
		ue.Message = "unspecified error"
	}
	return ue
}
