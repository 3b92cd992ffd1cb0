package anthropic

import (
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// StopReason maps a canonical finish reason to a Messages stop_reason. raw is the provider's
// own reason: an Anthropic one is kept as it came (stop_sequence, pause_turn, refusal, ...).
func StopReason(f llm.FinishReason, raw string) string {
	switch raw {
	case "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded":
		return raw
	}
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// ToolUseID returns id when it is a valid tool_use id (Anthropic accepts [A-Za-z0-9_-]),
// else a toolu_ id made from fallback and n, so a translated reply can be sent back as is.
func ToolUseID(id, fallback string, n int) string {
	if id != "" && len(id) <= 256 {
		ok := true
		for i := 0; i < len(id) && ok; i++ {
			c := id[i]
			ok = c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		}
		if ok {
			return id
		}
	}
	return "toolu_" + fallback + "_" + strconv.Itoa(n)
}

// EncodeMessage appends resp as a Messages API reply to dst: thinking blocks, then text, then
// tool_use blocks. id is the reply id (msg_...), model the model to report when the reply
// names none.
func EncodeMessage(dst []byte, resp *llm.Response, id, model string) []byte {
	if resp.Model != "" {
		model = resp.Model
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.String(dst, model)
	dst = append(dst, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	for i := range resp.Reasoning {
		r := &resp.Reasoning[i]
		sep()
		if r.Redacted != "" {
			dst = append(dst, `{"type":"redacted_thinking","data":`...)
			dst = jsonw.String(dst, r.Redacted)
		} else {
			dst = append(dst, `{"type":"thinking","thinking":`...)
			dst = jsonw.String(dst, r.Text)
			dst = append(dst, `,"signature":`...)
			dst = jsonw.String(dst, r.Signature)
		}
		dst = append(dst, '}')
	}
	if resp.HasText && resp.Text != "" || len(resp.ToolCalls) == 0 && len(resp.Reasoning) == 0 {
		sep()
		dst = append(dst, `{"type":"text","text":`...)
		dst = jsonw.String(dst, resp.Text)
		dst = append(dst, '}')
	}
	for i := range resp.ToolCalls {
		c := &resp.ToolCalls[i]
		sep()
		dst = append(dst, `{"type":"tool_use","id":`...)
		dst = jsonw.String(dst, ToolUseID(c.ID, id, i))
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, c.Name)
		dst = append(dst, `,"input":`...)
		dst = appendInput(dst, c.Arguments)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"stop_reason":`...)
	dst = jsonw.String(dst, StopReason(resp.FinishReason, resp.RawFinishReason))
	dst = append(dst, `,"stop_sequence":null,"usage":`...)
	dst = AppendUsage(dst, resp.Usage)
	return append(dst, '}')
}

// appendInput appends tool arguments, which must be an object; anything else becomes {}.
func appendInput(dst, args []byte) []byte {
	if jsonw.IsObject(args) {
		return append(dst, jsonw.TrimSpace(args)...)
	}
	return append(dst, "{}"...)
}

// AppendUsage appends a Messages usage object for u. Anthropic's input_tokens excludes cache
// reads and writes, which the canonical InputTokens includes (SPEC 2.4).
func AppendUsage(dst []byte, u llm.Usage) []byte {
	write := u.CacheWriteTokens + u.CacheWrite1hTokens
	input := max(u.InputTokens-u.CacheReadTokens-write, 0)
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, input)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = jsonw.Int(dst, write)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = jsonw.Int(dst, u.CacheReadTokens)
	dst = append(dst, `,"output_tokens":`...)
	dst = jsonw.Int(dst, u.OutputTokens)
	return append(dst, '}')
}

// AppendError appends Anthropic's error envelope {"type":"error","error":{"type","message"}}.
func AppendError(dst []byte, typ, message string) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = jsonw.String(dst, typ)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, message)
	return append(dst, "}}"...)
}

// AppendCountTokens appends a count_tokens reply.
func AppendCountTokens(dst []byte, inputTokens int64) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, inputTokens)
	return append(dst, '}')
}
