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
	// TopK is sampled where the target has it (Anthropic, Gemini); ignored elsewhere.
	TopK   *int
	User   string
	Stream bool
	// Reasoning asks the model to think first; nil leaves the provider's default.
	Reasoning *ReasoningConfig
}

// ReasoningConfig is the reasoning a request asks for, in whichever form the caller gave it:
// an effort (OpenAI's minimal/low/medium/high) or a token budget (Anthropic's budget_tokens,
// Gemini's thinkingBudget). Encoders map one onto the other where the target has only one.
type ReasoningConfig struct {
	Effort       string
	BudgetTokens int
	// Disabled turns reasoning off explicitly (Anthropic thinking.type=disabled, Gemini budget 0).
	Disabled bool
	// Summary asks for a reasoning summary in the reply (OpenAI Responses reasoning.summary).
	Summary string
}

// Response is a provider-neutral, complete (non-streaming or fully assembled) reply.
type Response struct {
	ID    string
	Model string // the model that actually served the request
	// Text is the concatenated assistant text; HasText says whether any text part was returned
	// (a reply of only tool calls has none, which the run API reports as null).
	Text      string
	HasText   bool
	ToolCalls []ToolCall
	// Reasoning is the reasoning the model returned, in order, when the provider exposes it.
	Reasoning    []Reasoning
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
