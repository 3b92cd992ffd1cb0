package llm

import "encoding/json"

// Role is the author of a message. The set is the Tracia LocalPromptMessage set.
type Role string

// Roles a Message may have.
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}

// IsInstruction reports whether messages of this role are system instructions, which Anthropic
// and Gemini carry outside the conversation.
func (r Role) IsInstruction() bool { return r == RoleSystem || r == RoleDeveloper }

// PartType says which field of a Part is set.
type PartType string

// Part types.
const (
	PartText     PartType = "text"
	PartToolCall PartType = "tool_call"
	// PartImage is an image input (Image is set).
	PartImage PartType = "image"
	// PartReasoning is the model's own reasoning replayed in a later turn (Reasoning is set):
	// Anthropic requires signed thinking blocks back with tool use.
	PartReasoning PartType = "reasoning"
)

// Part is one piece of a message's content.
type Part struct {
	Type      PartType
	Text      string     // Type == PartText
	ToolCall  ToolCall   // Type == PartToolCall
	Image     *Image     // Type == PartImage
	Reasoning *Reasoning // Type == PartReasoning
}

// Image is an image input: inline bytes (base64 Data with its MediaType) or a URL.
type Image struct {
	MediaType string // image/png, image/jpeg, ...; may be empty for a URL
	Data      string // base64, without a data: prefix
	URL       string // http(s) URL, when the image is not inline
	Detail    string // OpenAI's low/high/auto hint; empty when not given
}

// Reasoning is reasoning text a model produced, with the provider's opaque state for replay.
type Reasoning struct {
	Text string
	// Signature is Anthropic's thinking signature (or another provider's opaque replay token).
	Signature string
	// Redacted holds Anthropic's redacted_thinking data; Text is then empty.
	Redacted string
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: PartText, Text: s} }

// Message is one turn of a conversation.
type Message struct {
	Role  Role
	Parts []Part
	// ToolCallID and ToolName identify the call a RoleTool message answers.
	ToolCallID string
	ToolName   string
	// IsError marks a tool result that reports a failure (Anthropic's is_error).
	IsError bool
}

// Text concatenates the message's text parts.
func (m *Message) Text() string {
	if len(m.Parts) == 1 && m.Parts[0].Type == PartText {
		return m.Parts[0].Text
	}
	n := 0
	for i := range m.Parts {
		n += len(m.Parts[i].Text)
	}
	b := make([]byte, 0, n)
	for i := range m.Parts {
		if m.Parts[i].Type == PartText {
			b = append(b, m.Parts[i].Text...)
		}
	}
	return string(b)
}

// ToolCalls returns the tool calls among the message's parts.
func (m *Message) ToolCalls() []ToolCall {
	var calls []ToolCall
	for i := range m.Parts {
		if m.Parts[i].Type == PartToolCall {
			calls = append(calls, m.Parts[i].ToolCall)
		}
	}
	return calls
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is a JSON object (never a JSON string holding one): "{}" when the model gave none.
	Arguments json.RawMessage
	// Signature is provider-private state that must ride along when the call is replayed
	// (Gemini's thoughtSignature). Opaque; empty for most providers.
	Signature string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is a JSON Schema object; nil means no parameters.
	Parameters json.RawMessage
	Strict     bool
}

// ToolChoiceMode says how the model may use tools.
type ToolChoiceMode string

// Tool choice modes. The zero value leaves the provider's default.
const (
	ToolChoiceDefault  ToolChoiceMode = ""
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	ToolChoiceFunction ToolChoiceMode = "function" // the tool named in ToolChoice.Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// ResponseFormatType names the shape the reply must take.
type ResponseFormatType string

// Response format types.
const (
	FormatText       ResponseFormatType = "text"
	FormatJSONObject ResponseFormatType = "json_object"
	FormatJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type        ResponseFormatType
	Name        string
	Description string
	Schema      json.RawMessage
	Strict      bool
}

// WantsJSON reports whether the reply should be parsed as a JSON object.
func (f *ResponseFormat) WantsJSON() bool {
	return f != nil && (f.Type == FormatJSONObject || f.Type == FormatJSONSchema)
}
