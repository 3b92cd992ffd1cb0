package provider

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"strconv"
	"strings"

	"github.com/tracegate/tracegate/llm"
)

// The mock provider answers deterministically without network: text that echoes the last user
// message, a call of the first tool when tools are offered and the conversation does not end
// in a tool result, and a schema-shaped JSON object when structured output is asked for.
// Token counts are word counts, so usage, cost and spans have honest, repeatable numbers.

func mockComplete(ctx context.Context, model string, req *llm.Request) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := &llm.Response{Model: model, FinishReason: llm.FinishStop, RawFinishReason: "stop"}
	last := lastMessage(req.Messages)
	switch {
	case len(req.Tools) > 0 && req.ToolChoice.Mode != llm.ToolChoiceNone && (last == nil || last.Role != llm.RoleTool):
		tool := req.Tools[0]
		if req.ToolChoice.Mode == llm.ToolChoiceFunction {
			for _, t := range req.Tools {
				if t.Name == req.ToolChoice.Name {
					tool = t
				}
			}
		}
		args := exampleJSON(tool.Parameters, lastUserText(req.Messages))
		resp.ToolCalls = []llm.ToolCall{{ID: "call_mock_" + hashHex(req.Messages), Name: tool.Name, Arguments: args}}
		resp.FinishReason, resp.RawFinishReason = llm.FinishToolCalls, "tool_calls"
	case req.ResponseFormat.WantsJSON():
		resp.Text, resp.HasText = string(exampleJSON(req.ResponseFormat.Schema, lastUserText(req.Messages))), true
	case last != nil && last.Role == llm.RoleTool:
		resp.Text, resp.HasText = "Mock answer using the result of "+toolNameOf(req.Messages, last)+": "+last.Text(), true
	default:
		resp.Text, resp.HasText = "Mock reply to: "+lastUserText(req.Messages), true
	}
	resp.ID = "mock-" + hashHex(req.Messages)
	if req.MaxTokens > 0 {
		if words := strings.Fields(resp.Text); len(words) > req.MaxTokens && len(resp.ToolCalls) == 0 {
			resp.Text = strings.Join(words[:req.MaxTokens], " ")
			resp.FinishReason, resp.RawFinishReason = llm.FinishLength, "length"
		}
	}
	in := int64(0)
	for i := range req.Messages {
		in += int64(len(strings.Fields(req.Messages[i].Text()))) + 4
	}
	out := int64(len(strings.Fields(resp.Text)))
	for _, c := range resp.ToolCalls {
		out += int64(len(c.Arguments)/4) + 1
	}
	resp.Usage = llm.Usage{InputTokens: in, OutputTokens: out, Known: true}
	return resp, nil
}

func mockStream(ctx context.Context, t Target, req *llm.Request) (*Stream, error) {
	resp, err := mockComplete(ctx, t.Model, req)
	if err != nil {
		return nil, err
	}
	evs := []llm.StreamEvent{{Type: llm.EventStart, ID: resp.ID, Model: resp.Model}}
	for i, w := range strings.SplitAfter(resp.Text, " ") {
		if w != "" || i == 0 && resp.HasText {
			evs = append(evs, llm.StreamEvent{Type: llm.EventText, Text: w})
		}
	}
	for i, c := range resp.ToolCalls {
		evs = append(evs,
			llm.StreamEvent{Type: llm.EventToolCallStart, ToolIndex: i, ToolCallID: c.ID, ToolName: c.Name},
			llm.StreamEvent{Type: llm.EventToolCallDelta, ToolIndex: i, Text: string(c.Arguments)})
	}
	evs = append(evs,
		llm.StreamEvent{Type: llm.EventFinish, FinishReason: resp.FinishReason, RawFinishReason: resp.RawFinishReason},
		llm.StreamEvent{Type: llm.EventUsage, Usage: resp.Usage})
	return &Stream{Target: t, dec: &sliceDecoder{ctx: ctx, events: evs}}, nil
}

type sliceDecoder struct {
	ctx    context.Context
	events []llm.StreamEvent
}

func (d *sliceDecoder) Next() (llm.StreamEvent, error) {
	if err := d.ctx.Err(); err != nil {
		return llm.StreamEvent{}, err
	}
	if len(d.events) == 0 {
		return llm.StreamEvent{}, io.EOF
	}
	ev := d.events[0]
	d.events = d.events[1:]
	return ev, nil
}

func lastMessage(msgs []llm.Message) *llm.Message {
	if len(msgs) == 0 {
		return nil
	}
	return &msgs[len(msgs)-1]
}

func lastUserText(msgs []llm.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return msgs[i].Text()
		}
	}
	return ""
}

func toolNameOf(msgs []llm.Message, result *llm.Message) string {
	if result.ToolName != "" {
		return result.ToolName
	}
	for i := range msgs {
		for _, c := range msgs[i].ToolCalls() {
			if c.ID == result.ToolCallID {
				return c.Name
			}
		}
	}
	return "the tool"
}

func hashHex(msgs []llm.Message) string {
	h := fnv.New64a()
	for i := range msgs {
		h.Write([]byte(msgs[i].Role))
		h.Write([]byte(msgs[i].Text()))
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// exampleJSON builds a value that fits a JSON Schema: the seed text for strings, zero for
// numbers, false for booleans, one element for arrays, every property for objects.
func exampleJSON(schema json.RawMessage, seed string) json.RawMessage {
	var s map[string]any
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		s = map[string]any{"type": "object"}
	}
	b, err := json.Marshal(exampleValue(s, seed, 0))
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

func exampleValue(s map[string]any, seed string, depth int) any {
	if depth > 8 {
		return nil
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	typ, _ := s["type"].(string)
	if list, ok := s["type"].([]any); ok && len(list) > 0 {
		typ, _ = list[0].(string)
	}
	switch typ {
	case "string":
		return seed
	case "number", "integer":
		return 0
	case "boolean":
		return false
	case "array":
		item, _ := s["items"].(map[string]any)
		if item == nil {
			return []any{}
		}
		return []any{exampleValue(item, seed, depth+1)}
	case "null":
		return nil
	}
	out := map[string]any{}
	props, _ := s["properties"].(map[string]any)
	for name, p := range props {
		if ps, ok := p.(map[string]any); ok {
			out[name] = exampleValue(ps, seed, depth+1)
		}
	}
	if len(props) == 0 && typ == "" && depth == 0 {
		out["reply"] = seed
	}
	return out
}
