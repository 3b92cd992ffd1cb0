package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// DecodeResponse decodes a complete chat.completion body. Only the first choice is read (the
// canonical reply has one). A refusal without content becomes the reply text, so the caller
// sees why nothing else came back. Tool-call arguments, a JSON string on the wire, become a JSON
// object ("" becomes {}); arguments that are not a JSON object are an error wrapping
// ErrMalformed. A 200 body that carries an error object returns an *llm.UpstreamError with
// Status 0.
func DecodeResponse(body []byte) (*llm.Response, error) {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("openai: decode response: %w: %s", ErrMalformed, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("openai: decode response: %w: body is %s, not an object", ErrMalformed, v.Type())
	}
	if e := v.Get("error"); !isNull(e) {
		return nil, streamErrorFrom(e)
	}
	resp := &llm.Response{ID: str(v, "id"), Model: internedStr(v, "model")}
	resp.Usage, _ = usageFrom(v.Get("usage"))

	choices := v.GetArray("choices")
	if len(choices) == 0 {
		return resp, nil
	}
	choice := choices[0]
	msg := choice.Get("message")
	if msg == nil || msg.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("openai: decode response: %w: choices[0].message is missing", ErrMalformed)
	}
	if resp.Text, resp.HasText, err = decodeContent(msg.Get("content")); err != nil {
		return nil, fmt.Errorf("openai: decode response: %w: %s", ErrMalformed, err)
	}
	if text := reasoningText(msg); len(text) > 0 {
		resp.Reasoning = []llm.Reasoning{{Text: string(text)}}
	}
	if refusal := msg.GetStringBytes("refusal"); len(refusal) > 0 && resp.Text == "" {
		resp.Text, resp.HasText = string(refusal), true
	}
	for i, tc := range msg.GetArray("tool_calls") {
		call, err := decodeToolCall(tc.Get("id"), tc.Get("function"))
		if err != nil {
			return nil, fmt.Errorf("openai: decode response: tool_calls[%d]: %w", i, err)
		}
		resp.ToolCalls = append(resp.ToolCalls, call)
	}
	if fc := msg.Get("function_call"); !isNull(fc) && len(resp.ToolCalls) == 0 {
		call, err := decodeToolCall(nil, fc)
		if err != nil {
			return nil, fmt.Errorf("openai: decode response: function_call: %w", err)
		}
		resp.ToolCalls = append(resp.ToolCalls, call)
	}

	resp.RawFinishReason = internedStr(choice, "finish_reason")
	switch {
	case resp.RawFinishReason != "":
		resp.FinishReason = normalizeFinish(resp.RawFinishReason)
	case len(resp.ToolCalls) > 0:
		resp.FinishReason = llm.FinishToolCalls
	default:
		resp.FinishReason = llm.FinishStop
	}
	return resp, nil
}

// decodeContent reads message content: a string, null, or (from some compatible servers) an
// array of text parts.
func decodeContent(c *fastjson.Value) (text string, has bool, err error) {
	if isNull(c) {
		return "", false, nil
	}
	switch c.Type() {
	case fastjson.TypeString:
		return string(c.GetStringBytes()), true, nil
	case fastjson.TypeArray:
		var b []byte
		for _, part := range c.GetArray() {
			if t := part.GetStringBytes("text"); t != nil {
				b = append(b, t...)
				has = true
			}
		}
		return string(b), has, nil
	}
	return "", false, fmt.Errorf("content is %s", c.Type())
}

// decodeToolCall reads one tool call from its id and function object.
func decodeToolCall(id, fn *fastjson.Value) (llm.ToolCall, error) {
	if fn == nil || fn.Type() != fastjson.TypeObject {
		return llm.ToolCall{}, fmt.Errorf("%w: function is missing", ErrMalformed)
	}
	call := llm.ToolCall{Name: str(fn, "name")}
	if id != nil {
		call.ID = string(id.GetStringBytes())
	}
	args, err := parseArguments(fn.Get("arguments"))
	if err != nil {
		return llm.ToolCall{}, fmt.Errorf("%w: tool call %q: %s", ErrMalformed, call.Name, err)
	}
	call.Arguments = args
	return call, nil
}

// parseArguments turns the wire arguments (a string holding JSON; a few compatible servers send
// the object itself) into a compact JSON object.
func parseArguments(a *fastjson.Value) (json.RawMessage, error) {
	if isNull(a) {
		return json.RawMessage("{}"), nil
	}
	switch a.Type() {
	case fastjson.TypeObject:
		return jsonw.Value(nil, a)
	case fastjson.TypeString:
		return argumentsObject(a.GetStringBytes())
	}
	return nil, fmt.Errorf("arguments are %s", a.Type())
}

// argumentsObject validates and compacts the JSON text of a call's arguments.
func argumentsObject(text []byte) (json.RawMessage, error) {
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return json.RawMessage("{}"), nil
	}
	if text[0] != '{' {
		return nil, errArgumentsNotObject
	}
	var buf bytes.Buffer
	buf.Grow(len(text))
	// json.Compact is a scanner, not reflection: it validates and drops the newlines and
	// indentation models like to emit, so the object re-encodes cleanly for other formats.
	if err := json.Compact(&buf, text); err != nil {
		return nil, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// reasoningText is a message's or delta's reasoning, as OpenAI-compatible servers name it:
// reasoning_content (DeepSeek, vLLM) or reasoning (OpenRouter).
func reasoningText(v *fastjson.Value) []byte {
	if text := v.GetStringBytes("reasoning_content"); len(text) > 0 {
		return text
	}
	return v.GetStringBytes("reasoning")
}
