package spans

import (
	"bytes"
	"encoding/json"

	"github.com/tracegate/tracegate/llm"
)

// The shapes below follow the GenAI input/output message JSON schemas of semconv v1.41:
// messages are {role, parts, finish_reason?}, parts are typed by "type". They are only built
// with Options.CaptureContent, so reflection JSON is acceptable here.

type capturedMessage struct {
	Role         string `json:"role"`
	Parts        []any  `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

type textPart struct {
	Type    string `json:"type"` // "text"
	Content string `json:"content"`
}

type toolCallPart struct {
	Type      string `json:"type"` // "tool_call"
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Arguments any    `json:"arguments,omitempty"`
}

type toolResponsePart struct {
	Type     string `json:"type"` // "tool_call_response"
	ID       string `json:"id,omitempty"`
	Response any    `json:"response"`
}

type toolDefinition struct {
	Type        string          `json:"type"` // "function"
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// conversationJSON splits a conversation into gen_ai.input.messages and
// gen_ai.system_instructions (system and developer turns). Either is "" when empty.
func conversationJSON(msgs []llm.Message) (input, instructions string) {
	var turns []capturedMessage
	var system []any
	for i := range msgs {
		m := &msgs[i]
		if m.Role.IsInstruction() {
			system = append(system, textParts(m)...)
			continue
		}
		turns = append(turns, capturedMessage{Role: string(m.Role), Parts: messageParts(m)})
	}
	if len(turns) > 0 {
		input = marshalContent(turns)
	}
	if len(system) > 0 {
		instructions = marshalContent(system)
	}
	return input, instructions
}

// outputJSON gives gen_ai.output.messages for a reply.
func outputJSON(resp *llm.Response) string {
	m := resp.AssistantMessage()
	return marshalContent([]capturedMessage{{
		Role:         string(llm.RoleAssistant),
		Parts:        messageParts(&m),
		FinishReason: outputFinishReason(resp),
	}})
}

// toolDefinitionsJSON gives gen_ai.tool.definitions.
func toolDefinitionsJSON(tools []llm.Tool) string {
	defs := make([]toolDefinition, len(tools))
	for i, t := range tools {
		defs[i] = toolDefinition{Type: "function", Name: t.Name, Description: t.Description}
		if json.Valid(t.Parameters) {
			defs[i].Parameters = t.Parameters
		}
	}
	return marshalContent(defs)
}

func messageParts(m *llm.Message) []any {
	if m.Role == llm.RoleTool {
		return []any{toolResponsePart{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Text()}}
	}
	parts := make([]any, 0, len(m.Parts))
	for i := range m.Parts {
		p := &m.Parts[i]
		switch p.Type {
		case llm.PartToolCall:
			parts = append(parts, toolCallPart{
				Type: "tool_call", ID: p.ToolCall.ID, Name: p.ToolCall.Name,
				Arguments: jsonOrString(p.ToolCall.Arguments),
			})
		default:
			parts = append(parts, textPart{Type: "text", Content: p.Text})
		}
	}
	return parts
}

func textParts(m *llm.Message) []any {
	parts := make([]any, 0, len(m.Parts))
	for i := range m.Parts {
		if m.Parts[i].Type == llm.PartText {
			parts = append(parts, textPart{Type: "text", Content: m.Parts[i].Text})
		}
	}
	return parts
}

// jsonOrString keeps valid JSON arguments as JSON and malformed ones as a string, so one bad
// tool call cannot void the whole attribute.
func jsonOrString(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	if json.Valid(raw) {
		return raw
	}
	return string(raw)
}

// outputFinishReason maps to the schema's finish_reason values (stop, length, content_filter,
// tool_call, error), falling back to the provider's own.
func outputFinishReason(resp *llm.Response) string {
	switch resp.FinishReason {
	case llm.FinishToolCalls:
		return "tool_call"
	case "":
		if resp.RawFinishReason != "" {
			return resp.RawFinishReason
		}
		return "stop"
	}
	return string(resp.FinishReason)
}

func marshalContent(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // prompts are full of <, > and &; keep them readable
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}
