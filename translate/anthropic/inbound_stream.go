package anthropic

import (
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// MessageStreamEncoder turns canonical stream events into the Messages API's SSE event
// sequence: message_start (with usage), ping, content_block_start / _delta / _stop per text,
// thinking and tool_use block, message_delta (stop_reason and cumulative usage), message_stop.
// Blocks are opened lazily and closed when another begins, so the sequence is well formed
// whatever order the provider's events come in. It is not safe for concurrent use.
type MessageStreamEncoder struct {
	id, model string
	started   bool
	open      blockType // the block being written, blockNone between blocks
	next      int       // index of the next block
	tools     map[int]int
	usage     llm.Usage
	finish    llm.FinishReason
	rawFinish string
}

type blockType uint8

const (
	blockNone blockType = iota
	openText
	openThinking
	openTool
)

// NewMessageStreamEncoder returns an encoder for a reply with id (msg_...). model is reported
// when the provider's stream names none.
func NewMessageStreamEncoder(id, model string) *MessageStreamEncoder {
	return &MessageStreamEncoder{id: id, model: model}
}

// Encode appends the SSE events for ev to dst.
func (e *MessageStreamEncoder) Encode(dst []byte, ev llm.StreamEvent) []byte {
	switch ev.Type {
	case llm.EventStart:
		if ev.Model != "" && !e.started {
			e.model = ev.Model
		}
		return dst
	case llm.EventFinish:
		e.finish, e.rawFinish = ev.FinishReason, ev.RawFinishReason
		return dst
	case llm.EventUsage:
		e.usage = ev.Usage
		return dst
	}
	// message_start waits for the first content, so that it carries any usage reported
	// before it; the full counts follow in message_delta, which is cumulative.
	dst = e.start(dst)
	switch ev.Type {
	case llm.EventText:
		if ev.Text == "" {
			return dst
		}
		if e.open != openText {
			dst = e.closeBlock(dst)
			dst = e.openBlock(dst, openText, `{"type":"text","text":""}`)
		}
		dst = e.delta(dst, e.next-1, `{"type":"text_delta","text":`, ev.Text)
	case llm.EventReasoning:
		if e.open != openThinking {
			dst = e.closeBlock(dst)
			dst = e.openBlock(dst, openThinking, `{"type":"thinking","thinking":"","signature":""}`)
		}
		if ev.Text != "" {
			dst = e.delta(dst, e.next-1, `{"type":"thinking_delta","thinking":`, ev.Text)
		}
		if ev.Signature != "" {
			dst = e.delta(dst, e.next-1, `{"type":"signature_delta","signature":`, ev.Signature)
			dst = e.closeBlock(dst)
		}
	case llm.EventToolCallStart:
		dst = e.closeBlock(dst)
		if e.tools == nil {
			e.tools = map[int]int{}
		}
		e.tools[ev.ToolIndex] = e.next
		b := append(dst[len(dst):], `{"type":"tool_use","id":`...)
		b = jsonw.String(b, ToolUseID(ev.ToolCallID, e.id, ev.ToolIndex))
		b = append(b, `,"name":`...)
		b = jsonw.String(b, ev.ToolName)
		b = append(b, `,"input":{}}`...)
		block := string(b) // b aliases dst's spare capacity, which openBlock writes over
		dst = e.openBlock(dst, openTool, block)
	case llm.EventToolCallDelta:
		if ev.Text == "" {
			return dst
		}
		if idx, ok := e.tools[ev.ToolIndex]; ok {
			dst = e.delta(dst, idx, `{"type":"input_json_delta","partial_json":`, ev.Text)
		}
	}
	return dst
}

// Finish appends the closing events of a stream that ended cleanly.
func (e *MessageStreamEncoder) Finish(dst []byte) []byte {
	dst = e.start(dst)
	dst = e.closeBlock(dst)
	dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	dst = jsonw.String(dst, StopReason(e.finish, e.rawFinish))
	dst = append(dst, `,"stop_sequence":null},"usage":`...)
	dst = AppendUsage(dst, e.usage)
	dst = append(dst, "}\n\n"...)
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// EncodeError appends an error event, which ends a Messages stream that broke.
func EncodeError(dst []byte, typ, message string) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = AppendError(dst, typ, message)
	return append(dst, "\n\n"...)
}

func (e *MessageStreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = jsonw.String(dst, e.id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.String(dst, e.model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	dst = AppendUsage(dst, e.usage)
	dst = append(dst, "}}\n\n"...)
	return append(dst, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
}

func (e *MessageStreamEncoder) openBlock(dst []byte, t blockType, block string) []byte {
	dst = append(dst, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
	dst = jsonw.Int(dst, int64(e.next))
	dst = append(dst, `,"content_block":`...)
	dst = append(dst, block...)
	dst = append(dst, "}\n\n"...)
	e.open = t
	e.next++
	return dst
}

func (e *MessageStreamEncoder) closeBlock(dst []byte) []byte {
	if e.open == blockNone {
		return dst
	}
	e.open = blockNone
	dst = append(dst, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
	dst = jsonw.Int(dst, int64(e.next-1))
	return append(dst, "}\n\n"...)
}

// delta appends a content_block_delta whose delta is head (an unterminated object ending in a
// key) followed by the string value s.
func (e *MessageStreamEncoder) delta(dst []byte, index int, head, s string) []byte {
	dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	dst = jsonw.Int(dst, int64(index))
	dst = append(dst, `,"delta":`...)
	dst = append(dst, head...)
	dst = jsonw.String(dst, s)
	return append(dst, "}}\n\n"...)
}
