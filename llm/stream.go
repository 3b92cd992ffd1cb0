package llm

// StreamEventType says which fields of a StreamEvent are set.
type StreamEventType uint8

// Stream event types, in the order a stream normally produces them.
const (
	// EventStart opens the reply: ID and Model.
	EventStart StreamEventType = iota + 1
	// EventText carries a piece of assistant text in Text.
	EventText
	// EventToolCallStart opens tool call ToolIndex with ToolCallID and ToolName.
	EventToolCallStart
	// EventToolCallDelta appends Text to the arguments of tool call ToolIndex.
	EventToolCallDelta
	// EventFinish carries FinishReason and RawFinishReason.
	EventFinish
	// EventUsage carries the call's usage so far; a later one replaces an earlier one.
	EventUsage
	// EventReasoning carries a piece of reasoning text in Text; a Signature, when set, closes
	// the current reasoning block with the provider's replay state.
	EventReasoning
)

// StreamEvent is one canonical event decoded from a provider stream.
type StreamEvent struct {
	Type            StreamEventType
	ID              string
	Model           string
	Text            string
	ToolIndex       int
	ToolCallID      string
	ToolName        string
	Signature       string
	FinishReason    FinishReason
	RawFinishReason string
	Usage           Usage
}
