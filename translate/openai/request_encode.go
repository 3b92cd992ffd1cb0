package openai

import (
	"bytes"
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// defaultSchemaName names a json_schema response format whose caller gave no name: OpenAI
// requires one.
const defaultSchemaName = "response"

// EncodeRequest appends the Chat Completions body for req to dst. Max tokens go out as
// max_completion_tokens (max_tokens is deprecated and rejected by reasoning models); streaming
// requests always ask for the usage chunk. tool_choice and parallel_tool_calls are sent only
// with tools, since OpenAI rejects them otherwise. Errors wrap llm.ErrInvalidRequest.
func EncodeRequest(dst []byte, req *llm.Request) ([]byte, error) {
	if req == nil {
		return dst, invalidf("request is nil")
	}
	if req.Model == "" {
		return dst, invalidf("model is required")
	}
	if len(req.Messages) == 0 {
		return dst, invalidf("messages must not be empty")
	}
	orig := len(dst)
	var err error
	dst = append(dst, `{"model":`...)
	dst = jsonw.String(dst, req.Model)
	dst = append(dst, `,"messages":[`...)
	for i := range req.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendMessage(dst, i, &req.Messages[i]); err != nil {
			return dst[:orig], err
		}
	}
	dst = append(dst, ']')
	if len(req.Tools) > 0 {
		if dst, err = appendTools(dst, req.Tools); err != nil {
			return dst[:orig], err
		}
		if dst, err = appendToolChoice(dst, req.ToolChoice); err != nil {
			return dst[:orig], err
		}
		if req.ParallelToolCalls != nil {
			dst = appendKey(dst, "parallel_tool_calls")
			dst = strconv.AppendBool(dst, *req.ParallelToolCalls)
		}
	}
	if req.ResponseFormat != nil {
		if dst, err = appendResponseFormat(dst, req.ResponseFormat); err != nil {
			return dst[:orig], err
		}
	}
	if req.Temperature != nil {
		dst = appendKey(dst, "temperature")
		if dst, err = jsonw.FloatChecked(dst, *req.Temperature); err != nil {
			return dst[:orig], invalidf("temperature must be a finite number")
		}
	}
	if req.TopP != nil {
		dst = appendKey(dst, "top_p")
		if dst, err = jsonw.FloatChecked(dst, *req.TopP); err != nil {
			return dst[:orig], invalidf("top_p must be a finite number")
		}
	}
	if req.MaxTokens < 0 {
		return dst[:orig], invalidf("max tokens must not be negative")
	}
	if req.MaxTokens > 0 {
		dst = appendKey(dst, "max_completion_tokens")
		dst = strconv.AppendInt(dst, int64(req.MaxTokens), 10)
	}
	if len(req.Stop) > 0 {
		dst = appendKey(dst, "stop")
		dst = append(dst, '[')
		for i, s := range req.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonw.String(dst, s)
		}
		dst = append(dst, ']')
	}
	if effort := reasoningEffort(req.Reasoning); effort != "" {
		dst = appendKey(dst, "reasoning_effort")
		dst = jsonw.String(dst, effort)
	}
	if req.User != "" {
		dst = appendKey(dst, "user")
		dst = jsonw.String(dst, req.User)
	}
	if req.Stream {
		dst = append(dst, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(dst, '}'), nil
}

func appendMessage(dst []byte, i int, m *llm.Message) ([]byte, error) {
	if !m.Role.Valid() {
		return dst, invalidf("messages[%d]: unknown role %q", i, m.Role)
	}
	dst = append(dst, `{"role":"`...)
	dst = append(dst, m.Role...)
	dst = append(dst, '"')
	var calls, images, reasoning int
	for j := range m.Parts {
		switch m.Parts[j].Type {
		case llm.PartText:
		case llm.PartToolCall:
			calls++
		case llm.PartImage:
			if m.Parts[j].Image == nil {
				return dst, invalidf("messages[%d]: image part without an image", i)
			}
			images++
		case llm.PartReasoning:
			// Chat Completions takes no reasoning back: the model's own hidden state is dropped.
			reasoning++
		default:
			return dst, invalidf("messages[%d]: unknown part type %q", i, m.Parts[j].Type)
		}
	}
	if calls > 0 && m.Role != llm.RoleAssistant {
		return dst, invalidf("messages[%d]: only assistant messages may carry tool calls", i)
	}
	if images > 0 && m.Role != llm.RoleUser {
		return dst, invalidf("messages[%d]: Chat Completions takes images in user messages only, not in %s messages", i, m.Role)
	}
	dst = append(dst, `,"content":`...)
	switch {
	case calls > 0 && calls+reasoning == len(m.Parts):
		dst = append(dst, "null"...)
	case m.Role == llm.RoleUser && (textParts(m) > 1 || images > 0):
		// Keep the user's part boundaries: they matter for prompt caching.
		dst = appendContentParts(dst, m)
	default:
		dst = appendMessageText(dst, m)
	}
	if calls > 0 {
		var err error
		dst = append(dst, `,"tool_calls":[`...)
		first := true
		for j := range m.Parts {
			if m.Parts[j].Type != llm.PartToolCall {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			if dst, err = appendRequestToolCall(dst, i, &m.Parts[j].ToolCall); err != nil {
				return dst, err
			}
		}
		dst = append(dst, ']')
	}
	if m.Role == llm.RoleTool {
		if m.ToolCallID == "" {
			return dst, invalidf("messages[%d]: tool message needs a tool call id", i)
		}
		dst = append(dst, `,"tool_call_id":`...)
		dst = jsonw.String(dst, m.ToolCallID)
	}
	return append(dst, '}'), nil
}

// appendContentParts appends a user message's content as an array of text and image_url
// parts, in order. An inline image goes as a data: URL.
func appendContentParts(dst []byte, m *llm.Message) []byte {
	dst = append(dst, '[')
	first := true
	for j := range m.Parts {
		p := &m.Parts[j]
		if p.Type != llm.PartText && p.Type != llm.PartImage {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if p.Type == llm.PartText {
			dst = append(dst, `{"type":"text","text":`...)
			dst = jsonw.String(dst, p.Text)
			dst = append(dst, '}')
			continue
		}
		dst = append(dst, `{"type":"image_url","image_url":{"url":"`...)
		if p.Image.URL != "" {
			dst = jsonw.Escape(dst, p.Image.URL)
		} else {
			dst = append(dst, "data:"...)
			dst = jsonw.Escape(dst, p.Image.MediaType)
			dst = append(dst, ";base64,"...)
			dst = jsonw.Escape(dst, p.Image.Data)
		}
		dst = append(dst, '"')
		if p.Image.Detail != "" {
			dst = append(dst, `,"detail":`...)
			dst = jsonw.String(dst, p.Image.Detail)
		}
		dst = append(dst, '}', '}')
	}
	return append(dst, ']')
}

// reasoningEffort is the reasoning_effort for a reasoning request: the effort asked for, or
// one derived from a token budget (Anthropic's budget_tokens) by its size.
func reasoningEffort(r *llm.ReasoningConfig) string {
	switch {
	case r == nil || r.Disabled:
		return ""
	case r.Effort != "":
		return r.Effort
	case r.BudgetTokens <= 0:
		return ""
	case r.BudgetTokens <= 2048:
		return "low"
	case r.BudgetTokens <= 16384:
		return "medium"
	}
	return "high"
}

func textParts(m *llm.Message) int {
	n := 0
	for j := range m.Parts {
		if m.Parts[j].Type == llm.PartText {
			n++
		}
	}
	return n
}

// appendMessageText appends the message's text parts joined as one JSON string, without
// building the joined string first.
func appendMessageText(dst []byte, m *llm.Message) []byte {
	if textParts(m) == 1 {
		for j := range m.Parts {
			if m.Parts[j].Type == llm.PartText {
				return jsonw.String(dst, m.Parts[j].Text)
			}
		}
	}
	dst = append(dst, '"')
	for j := range m.Parts {
		if m.Parts[j].Type == llm.PartText {
			dst = jsonw.Escape(dst, m.Parts[j].Text)
		}
	}
	return append(dst, '"')
}

func appendRequestToolCall(dst []byte, i int, c *llm.ToolCall) ([]byte, error) {
	if c.Name == "" {
		return dst, invalidf("messages[%d]: tool call without a name", i)
	}
	args, err := toolArguments(c.Arguments)
	if err != nil {
		return dst, invalidf("messages[%d]: tool call %q: %s", i, c.Name, err)
	}
	return appendToolCall(dst, c, args), nil
}

// toolArguments returns a call's arguments as the JSON text OpenAI wants inside its string.
func toolArguments(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return []byte("{}"), nil
	}
	if !jsonw.IsObject(raw) {
		return nil, errArgumentsNotObject
	}
	return raw, nil
}

func appendTools(dst []byte, tools []llm.Tool) ([]byte, error) {
	dst = appendKey(dst, "tools")
	dst = append(dst, '[')
	for i := range tools {
		t := &tools[i]
		if t.Name == "" {
			return dst, invalidf("tools[%d]: name is required", i)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":"function","function":{"name":`...)
		dst = jsonw.String(dst, t.Name)
		if t.Description != "" {
			dst = append(dst, `,"description":`...)
			dst = jsonw.String(dst, t.Description)
		}
		if len(bytes.TrimSpace(t.Parameters)) > 0 {
			dst = append(dst, `,"parameters":`...)
			var ok bool
			if dst, ok = appendRawObject(dst, t.Parameters); !ok {
				return dst, invalidf("tools[%d].parameters must be a JSON object", i)
			}
		}
		if t.Strict {
			dst = append(dst, `,"strict":true`...)
		}
		dst = append(dst, '}', '}')
	}
	return append(dst, ']'), nil
}

func appendToolChoice(dst []byte, tc llm.ToolChoice) ([]byte, error) {
	switch tc.Mode {
	case llm.ToolChoiceDefault:
		return dst, nil
	case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
		dst = appendKey(dst, "tool_choice")
		dst = append(dst, '"')
		dst = append(dst, tc.Mode...)
		return append(dst, '"'), nil
	case llm.ToolChoiceFunction:
		if tc.Name == "" {
			return dst, invalidf("tool_choice: function mode needs a tool name")
		}
		dst = appendKey(dst, "tool_choice")
		dst = append(dst, `{"type":"function","function":{"name":`...)
		dst = jsonw.String(dst, tc.Name)
		return append(dst, '}', '}'), nil
	}
	return dst, invalidf("tool_choice: unknown mode %q", tc.Mode)
}

func appendResponseFormat(dst []byte, f *llm.ResponseFormat) ([]byte, error) {
	switch f.Type {
	case llm.FormatText:
		dst = appendKey(dst, "response_format")
		return append(dst, `{"type":"text"}`...), nil
	case llm.FormatJSONObject:
		dst = appendKey(dst, "response_format")
		return append(dst, `{"type":"json_object"}`...), nil
	case llm.FormatJSONSchema:
	default:
		return dst, invalidf("response_format: unknown type %q", f.Type)
	}
	name := f.Name
	if name == "" {
		name = defaultSchemaName
	}
	dst = appendKey(dst, "response_format")
	dst = append(dst, `{"type":"json_schema","json_schema":{"name":`...)
	dst = jsonw.String(dst, name)
	if f.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonw.String(dst, f.Description)
	}
	if len(bytes.TrimSpace(f.Schema)) > 0 {
		var ok bool
		dst = append(dst, `,"schema":`...)
		if dst, ok = appendRawObject(dst, f.Schema); !ok {
			return dst, invalidf("response_format.schema must be a JSON object")
		}
	}
	if f.Strict {
		dst = append(dst, `,"strict":true`...)
	}
	return append(dst, '}', '}'), nil
}

// appendToolCall writes one tool call in OpenAI's shape, arguments as a JSON string.
func appendToolCall(dst []byte, c *llm.ToolCall, args []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, c.ID)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = jsonw.String(dst, c.Name)
	dst = append(dst, `,"arguments":`...)
	dst = jsonw.String(dst, args)
	return append(dst, '}', '}')
}
