package anthropic

import (
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

var parserPool fastjson.ParserPool

var errNotObject = errors.New("body is not a JSON object")

// DecodeResponse decodes a complete (non-streaming) Messages API reply. Thinking and
// redacted_thinking blocks become Response.Reasoning, signatures kept for replay; server-tool
// blocks are dropped; a call of the synthetic JSONToolName tool becomes the reply
// text (see EncodeOptions.ForceToolForJSON).
func DecodeResponse(body []byte) (*llm.Response, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode anthropic response: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("decode anthropic response: %w", errNotObject)
	}
	if string(v.GetStringBytes("type")) == "error" {
		return nil, fmt.Errorf("decode anthropic response: error envelope: %s: %s",
			v.GetStringBytes("error", "type"), v.GetStringBytes("error", "message"))
	}

	resp := &llm.Response{
		ID:              string(v.GetStringBytes("id")),
		Model:           string(v.GetStringBytes("model")),
		RawFinishReason: string(v.GetStringBytes("stop_reason")),
	}
	var (
		text        []byte
		textBlocks  int
		jsonText    []byte
		sawJSONTool bool
	)
	for _, block := range v.GetArray("content") {
		switch string(block.GetStringBytes("type")) {
		case "text":
			textBlocks++
			text = append(text, block.GetStringBytes("text")...)
		case "thinking":
			resp.Reasoning = append(resp.Reasoning, llm.Reasoning{
				Text: string(block.GetStringBytes("thinking")), Signature: string(block.GetStringBytes("signature"))})
		case "redacted_thinking":
			resp.Reasoning = append(resp.Reasoning, llm.Reasoning{Redacted: string(block.GetStringBytes("data"))})
		case "tool_use":
			input := block.Get("input")
			name := block.GetStringBytes("name")
			if string(name) == JSONToolName {
				sawJSONTool = true
				jsonText = appendObjectOrEmpty(jsonText[:0], input)
				continue
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
				ID:        string(block.GetStringBytes("id")),
				Name:      string(name),
				Arguments: appendObjectOrEmpty(nil, input),
			})
		}
	}
	switch {
	case sawJSONTool:
		// The forced tool's input is the answer; any text beside it is not part of the JSON.
		resp.Text, resp.HasText = string(jsonText), true
	case textBlocks > 0:
		resp.Text, resp.HasText = string(text), true
	}
	resp.FinishReason = finishReason(resp.RawFinishReason, sawJSONTool, len(resp.ToolCalls))
	if u, ok := parseUsage(v.Get("usage")); ok {
		resp.Usage = u.canonical()
	}
	return resp, nil
}

// appendObjectOrEmpty serialises a tool input, which the contract says is an object; anything
// else (absent, null, or holding a number JSON cannot carry, such as nan) counts as no
// arguments, so that a reply is never lost over one bad tool input.
func appendObjectOrEmpty(dst []byte, v *fastjson.Value) []byte {
	if v != nil && v.Type() == fastjson.TypeObject {
		if out, err := jsonw.Value(dst, v); err == nil {
			return out
		}
	}
	return append(dst, "{}"...)
}
