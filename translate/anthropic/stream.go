package anthropic

import (
	"errors"
	"fmt"
	"io"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fastjson"
)

var errNilReader = errors.New("nil stream reader")

// blockKind says how a content block's deltas are reported.
type blockKind uint8

const (
	blockIgnored  blockKind = iota // server tools, redacted thinking, anything new
	blockText                      // text_delta -> EventText
	blockThinking                  // thinking_delta, signature_delta -> EventReasoning
	blockTool                      // input_json_delta -> EventToolCallDelta
	blockJSONTool                  // the forced JSON tool: input_json_delta -> EventText
)

// streamBlock maps an Anthropic content-block index to how its deltas are reported.
type streamBlock struct {
	index     int64
	kind      blockKind
	toolIndex int
}

// StreamDecoder turns a Messages API SSE stream into canonical events. It is not safe for
// concurrent use. Events are decoded one SSE event at a time, never buffering the stream.
type StreamDecoder struct {
	events *sse.Reader
	parser fastjson.Parser

	// One SSE event can yield two canonical events (message_delta: finish and usage).
	pending [2]llm.StreamEvent
	head    int
	npend   int

	blocks      []streamBlock
	toolCalls   int // real tool calls started, which is also the next ToolIndex
	sawJSONTool bool
	startUsage  wireUsage
	done        bool
	err         error
}

// NewStreamDecoder reads the stream from r.
func NewStreamDecoder(r io.Reader) *StreamDecoder {
	d := &StreamDecoder{}
	if r == nil {
		d.err = fmt.Errorf("anthropic stream: %w", errNilReader)
		return d
	}
	d.events = sse.NewReader(r)
	return d
}

// Next returns the next event. After message_stop it returns io.EOF. An in-stream error event
// is returned as an *llm.UpstreamError with Status 0 (Provider is left for the caller to set);
// a stream that ends before message_stop yields an error wrapping llm.ErrStreamTruncated.
// Errors are sticky: every later call returns the same one.
func (d *StreamDecoder) Next() (llm.StreamEvent, error) {
	for {
		if d.head < d.npend {
			ev := d.pending[d.head]
			d.head++
			return ev, nil
		}
		if d.err != nil {
			return llm.StreamEvent{}, d.err
		}
		if d.done {
			return llm.StreamEvent{}, io.EOF
		}
		d.head, d.npend = 0, 0
		if err := d.readEvent(); err != nil {
			d.err = err
		}
		if (d.err != nil || d.done) && d.events != nil {
			// Pending events hold copies, never reader memory, and nothing reads the stream
			// after its end: the reader's buffer goes back to its pool now.
			d.events.Release()
			d.events = nil
		}
	}
}

// readEvent decodes one SSE event into zero, one or two pending events, or fails.
func (d *StreamDecoder) readEvent() error {
	raw, err := d.events.Next()
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("anthropic stream: %w", llm.ErrStreamTruncated)
		}
		return fmt.Errorf("anthropic stream: %w: %w", llm.ErrStreamTruncated, err)
	}
	v, err := d.parser.ParseBytes(raw.Data)
	if err != nil {
		err = fmt.Errorf("anthropic stream: decode %q event: %w", raw.Name, err)
		// The sse reader dispatches the half-received event of a cut stream; if nothing
		// follows it, the garbage is the cut, not a malformed event.
		if _, next := d.events.Next(); next == io.EOF || next == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: %w", llm.ErrStreamTruncated, err)
		}
		return err
	}
	typ := v.GetStringBytes("type")
	if len(typ) == 0 {
		typ = raw.Name
	}
	switch string(typ) {
	case "message_start":
		d.messageStart(v.Get("message"))
	case "content_block_start":
		d.blockStart(v.GetInt64("index"), v.Get("content_block"))
	case "content_block_delta":
		d.blockDelta(v.GetInt64("index"), v.Get("delta"))
	case "message_delta":
		d.messageDelta(v)
	case "message_stop":
		d.done = true
	case "error":
		return &llm.UpstreamError{
			Type:    string(v.GetStringBytes("error", "type")),
			Message: string(v.GetStringBytes("error", "message")),
		}
	}
	// ping, content_block_stop and event types added after this was written carry nothing.
	return nil
}

func (d *StreamDecoder) push(ev llm.StreamEvent) {
	d.pending[d.npend] = ev
	d.npend++
}

func (d *StreamDecoder) messageStart(msg *fastjson.Value) {
	if msg == nil {
		return
	}
	d.push(llm.StreamEvent{
		Type:  llm.EventStart,
		ID:    string(msg.GetStringBytes("id")),
		Model: string(msg.GetStringBytes("model")),
	})
	if u, ok := parseUsage(msg.Get("usage")); ok {
		d.startUsage = u
		d.push(llm.StreamEvent{Type: llm.EventUsage, Usage: u.canonical()})
	}
}

func (d *StreamDecoder) blockStart(index int64, block *fastjson.Value) {
	if block == nil {
		return
	}
	b := streamBlock{index: index}
	switch string(block.GetStringBytes("type")) {
	case "text":
		// Its text arrives as deltas; the empty text here carries nothing.
		b.kind = blockText
	case "thinking":
		b.kind = blockThinking
	case "tool_use":
		name := block.GetStringBytes("name")
		if string(name) == JSONToolName {
			b.kind = blockJSONTool
			d.sawJSONTool = true
			break
		}
		b.kind, b.toolIndex = blockTool, d.toolCalls
		d.toolCalls++
		d.push(llm.StreamEvent{
			Type:       llm.EventToolCallStart,
			ToolIndex:  b.toolIndex,
			ToolCallID: string(block.GetStringBytes("id")),
			ToolName:   string(name),
		})
	}
	d.blocks = append(d.blocks, b)
}

// block finds a started block; the newest first, because deltas follow their start.
func (d *StreamDecoder) block(index int64) (streamBlock, bool) {
	for i := len(d.blocks) - 1; i >= 0; i-- {
		if d.blocks[i].index == index {
			return d.blocks[i], true
		}
	}
	return streamBlock{}, false
}

func (d *StreamDecoder) blockDelta(index int64, delta *fastjson.Value) {
	if delta == nil {
		return
	}
	switch string(delta.GetStringBytes("type")) {
	case "text_delta":
		if text := delta.GetStringBytes("text"); len(text) > 0 {
			d.push(llm.StreamEvent{Type: llm.EventText, Text: string(text)})
		}
	case "thinking_delta":
		if text := delta.GetStringBytes("thinking"); len(text) > 0 {
			d.push(llm.StreamEvent{Type: llm.EventReasoning, Text: string(text)})
		}
	case "signature_delta":
		// The signature closes the thinking block: it is what a later turn must send back.
		if sig := delta.GetStringBytes("signature"); len(sig) > 0 {
			d.push(llm.StreamEvent{Type: llm.EventReasoning, Signature: string(sig)})
		}
	case "input_json_delta":
		fragment := delta.GetStringBytes("partial_json")
		b, ok := d.block(index)
		if len(fragment) == 0 || !ok {
			return
		}
		switch b.kind {
		case blockTool:
			d.push(llm.StreamEvent{Type: llm.EventToolCallDelta, ToolIndex: b.toolIndex, Text: string(fragment)})
		case blockJSONTool:
			d.push(llm.StreamEvent{Type: llm.EventText, Text: string(fragment)})
		}
	}
	// citations_delta and deltas of blocks added after this was written: dropped.
}

func (d *StreamDecoder) messageDelta(v *fastjson.Value) {
	if reason := v.GetStringBytes("delta", "stop_reason"); len(reason) > 0 {
		raw := string(reason)
		d.push(llm.StreamEvent{
			Type:            llm.EventFinish,
			FinishReason:    finishReason(raw, d.sawJSONTool, d.toolCalls),
			RawFinishReason: raw,
		})
	}
	if u, ok := parseUsage(v.Get("usage")); ok {
		d.push(llm.StreamEvent{Type: llm.EventUsage, Usage: d.startUsage.overlay(u).canonical()})
	}
}
