package llm

// Request is a provider-neutral chat request.
type Request struct {
	// Model is the model id as the provider knows it (any "provider/" routing prefix removed).
	Model          string
	Messages       []Message
	Tools          []Tool
	ToolChoice     ToolChoice
	ResponseFormat *ResponseFormat
	// Sampling controls; nil or zero means "provider default".
	Temperature       *float64
	TopP              *float64
	MaxTokens         int
	Stop              []string
	ParallelToolCalls *bool
	User              string
	Stream            bool
}

// Response is a provider-neutral, complete (non-streaming or fully assembled) reply.
type Response struct {
	ID    string
	Model string // the model that actually served the request
	// Text is the concatenated assistant text; HasText says whether any text part was returned
	// (a reply of only tool calls has none, which the run API reports as null).
	Text         string
	HasText      bool
	ToolCalls    []ToolCall
	FinishReason FinishReason
	// RawFinishReason is the provider's own reason (end_turn, MAX_TOKENS, ...), kept for spans.
	RawFinishReason string
	Usage           Usage
}

// AssistantMessage returns the reply as a conversation turn, so a caller can continue it.
func (r *Response) AssistantMessage() Message {
	m := Message{Role: RoleAssistant}
	if r.HasText || len(r.ToolCalls) == 0 {
		m.Parts = append(m.Parts, TextPart(r.Text))
	}
	for _, c := range r.ToolCalls {
		m.Parts = append(m.Parts, Part{Type: PartToolCall, ToolCall: c})
	}
	return m
}

// FinishReason is the normalised reason generation stopped.
type FinishReason string

// Normalised finish reasons (the OpenAI set).
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
)

// Usage is the canonical token count of one call. InputTokens is the whole prompt, cache reads
// and writes included; OutputTokens is everything generated, reasoning included. The other
// fields are sub-counts of those two, never additions to them.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	// CacheReadTokens is the part of InputTokens served from a prompt cache.
	CacheReadTokens int64
	// CacheWriteTokens is the part of InputTokens written to a 5-minute cache;
	// CacheWrite1hTokens the part written to a 1-hour cache.
	CacheWriteTokens   int64
	CacheWrite1hTokens int64
	// ReasoningTokens is the part of OutputTokens spent on reasoning.
	ReasoningTokens int64
	// Known is false when the provider reported no usage (a broken stream, say): the numbers
	// are then not zero but unknown.
	Known bool
}

// TotalTokens is input plus output.
func (u Usage) TotalTokens() int64 { return u.InputTokens + u.OutputTokens }
