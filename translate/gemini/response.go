package gemini

import (
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// replyProvider names the provider on an error found inside a 200 reply, where the caller's
// configured name is not known; callers may overwrite it.
const replyProvider = "gemini"

var errArgsNotObject = errors.New("functionCall args is not a JSON object")

// DecodeResponse decodes a complete GenerateContentResponse. Only the first candidate is read.
// Thought parts are left out of the text; function calls without an id get minted ones (see
// the package documentation). A body holding a google.rpc error envelope yields an
// *llm.UpstreamError.
func DecodeResponse(body []byte) (*llm.Response, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	reply, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode gemini response: %w", err)
	}
	if reply.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("decode gemini response: %w", errNotObject)
	}
	if ev := reply.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
		ue := &llm.UpstreamError{Provider: replyProvider, Status: ev.GetInt("code")}
		fillFromEnvelope(ue, ev)
		return nil, ue
	}

	resp := &llm.Response{
		ID:    string(reply.GetStringBytes("responseId")),
		Model: string(reply.GetStringBytes("modelVersion")),
		Usage: decodeUsage(reply),
	}
	candidates := reply.GetArray("candidates")
	if len(candidates) == 0 {
		resp.FinishReason = llm.FinishStop
		if block := reply.GetStringBytes("promptFeedback", "blockReason"); len(block) > 0 {
			resp.FinishReason = llm.FinishContentFilter
			resp.RawFinishReason = string(block)
		}
		return resp, nil
	}

	candidate := candidates[0]
	var (
		firstText []byte // the only text part, in the common case, copied once
		joined    []byte
		texts     int
		args      []byte // backing store for every call's arguments
		idBase    string
	)
	for _, part := range candidate.GetArray("content", "parts") {
		if fc := part.Get("functionCall"); fc != nil && fc.Type() == fastjson.TypeObject {
			var call llm.ToolCall
			if call, args, err = decodeFunctionCall(args, part, fc); err != nil {
				return nil, fmt.Errorf("decode gemini response: %w", err)
			}
			if call.ID == "" {
				if idBase == "" {
					idBase = mintedIDBase(resp.ID, body)
				}
				call.ID = string(appendMintedID(nil, idBase, len(resp.ToolCalls)))
			}
			resp.ToolCalls = append(resp.ToolCalls, call)
			continue
		}
		if thought, ok := thoughtText(part); ok {
			resp.Reasoning = append(resp.Reasoning, llm.Reasoning{Text: string(thought)})
			continue
		}
		if text, ok := partText(part); ok {
			switch texts {
			case 0:
				firstText = text
			case 1:
				joined = append(append(joined, firstText...), text...)
			default:
				joined = append(joined, text...)
			}
			texts++
		}
	}
	switch texts {
	case 0:
	case 1:
		resp.Text, resp.HasText = string(firstText), true
	default:
		resp.Text, resp.HasText = string(joined), true
	}
	resp.RawFinishReason = string(candidate.GetStringBytes("finishReason"))
	resp.FinishReason = mapFinishReason(resp.RawFinishReason, len(resp.ToolCalls) > 0)
	return resp, nil
}

// partText returns a part's answer text; thought summaries are not part of the answer.
func partText(part *fastjson.Value) ([]byte, bool) {
	t := part.Get("text")
	if t == nil || t.Type() != fastjson.TypeString || part.GetBool("thought") {
		return nil, false
	}
	s, _ := t.StringBytes()
	return s, true
}

// thoughtText returns the text of a thought summary part (includeThoughts).
func thoughtText(part *fastjson.Value) ([]byte, bool) {
	if !part.GetBool("thought") {
		return nil, false
	}
	t := part.Get("text")
	if t == nil || t.Type() != fastjson.TypeString {
		return nil, false
	}
	s, _ := t.StringBytes()
	return s, true
}

// decodeFunctionCall reads a functionCall part. Its arguments are re-encoded onto buf and
// the returned call's Arguments point into the grown buffer, which is returned. ID is empty
// when Gemini sent none.
func decodeFunctionCall(buf []byte, part, fc *fastjson.Value) (llm.ToolCall, []byte, error) {
	call := llm.ToolCall{
		ID:        string(fc.GetStringBytes("id")),
		Name:      string(fc.GetStringBytes("name")),
		Signature: string(part.GetStringBytes("thoughtSignature")),
	}
	start := len(buf)
	switch a := fc.Get("args"); {
	case a == nil || a.Type() == fastjson.TypeNull:
		buf = append(buf, "{}"...)
	case a.Type() == fastjson.TypeObject:
		var err error
		if buf, err = jsonw.Value(buf, a); err != nil {
			return call, buf[:start], fmt.Errorf("function call %q args: %w", call.Name, err)
		}
	default:
		return call, buf, fmt.Errorf("function call %q: %w", call.Name, errArgsNotObject)
	}
	call.Arguments = buf[start:len(buf):len(buf)]
	return call, buf, nil
}
