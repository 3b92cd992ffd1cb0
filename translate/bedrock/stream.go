package bedrock

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// StreamDecoder turns a ConverseStream reply (event-stream frames) into canonical events, one
// frame at a time. It is not safe for concurrent use.
//
// Events: messageStart, contentBlockStart (a tool call's id and name), contentBlockDelta
// (text, tool input as partial JSON text, reasoning), contentBlockStop, messageStop
// (stopReason), metadata (usage). Exceptions arrive as frames of :message-type exception.
type StreamDecoder struct {
	frames *FrameReader
	parser fastjson.Parser

	pending []llm.StreamEvent
	head    int // pending[head:] are still to be returned
	// blocks maps a content-block index to its tool index, for tool blocks; jsonToolBlock is
	// the forced JSON tool's block (-1 when none), whose input is reply text.
	blocks        map[int]int
	toolCalls     int
	jsonToolBlock int
	stopped       bool // messageStop seen
	done          bool
	err           error
}

// NewStreamDecoder reads the stream from r with frames of at most MaxFrameSize bytes.
func NewStreamDecoder(r io.Reader) *StreamDecoder {
	return &StreamDecoder{frames: NewFrameReader(r, MaxFrameSize), jsonToolBlock: -1}
}

// Next returns the next event, io.EOF after the metadata event (or a clean end after
// messageStop). An exception frame is an *llm.UpstreamError with Status 0 and Type the
// exception's name; a stream that ends before messageStop wraps llm.ErrStreamTruncated.
// Errors are sticky.
func (d *StreamDecoder) Next() (llm.StreamEvent, error) {
	for {
		if d.head < len(d.pending) {
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
		d.pending, d.head = d.pending[:0], 0
		if err := d.readFrame(); err != nil {
			d.err = err
		}
	}
}

func (d *StreamDecoder) readFrame() error {
	f, err := d.frames.Next()
	if err != nil {
		if err == io.EOF && d.stopped {
			d.done = true
			return nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("bedrock stream: %w", llm.ErrStreamTruncated)
		}
		if errors.Is(err, ErrFrameCRC) || errors.Is(err, ErrFrameMalformed) || errors.Is(err, ErrFrameTooLarge) {
			return fmt.Errorf("bedrock stream: %w", err)
		}
		return fmt.Errorf("bedrock stream: %w: %w", llm.ErrStreamTruncated, err)
	}
	switch string(f.HeaderValue(":message-type")) {
	case "event":
	case "exception":
		return d.exception(f.Header(":exception-type"), f.Payload)
	case "error":
		return &llm.UpstreamError{Type: f.Header(":error-code"), Message: f.Header(":error-message")}
	default:
		return nil // a message type added later carries nothing for us
	}
	v, err := d.parser.ParseBytes(f.Payload)
	if err != nil {
		return fmt.Errorf("bedrock stream: decode %q event: %w", f.Header(":event-type"), err)
	}
	switch string(f.HeaderValue(":event-type")) {
	case "messageStart":
		d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventStart})
	case "contentBlockStart":
		if tu := v.Get("start", "toolUse"); tu != nil {
			if string(tu.GetStringBytes("name")) == JSONToolName {
				d.jsonToolBlock = v.GetInt("contentBlockIndex")
				break
			}
			if d.blocks == nil {
				d.blocks = make(map[int]int)
			}
			d.blocks[v.GetInt("contentBlockIndex")] = d.toolCalls
			d.pending = append(d.pending, llm.StreamEvent{
				Type:       llm.EventToolCallStart,
				ToolIndex:  d.toolCalls,
				ToolCallID: string(tu.GetStringBytes("toolUseId")),
				ToolName:   string(tu.GetStringBytes("name")),
			})
			d.toolCalls++
		}
	case "contentBlockDelta":
		d.delta(v.GetInt("contentBlockIndex"), v.Get("delta"))
	case "messageStop":
		d.stopped = true
		raw := string(v.GetStringBytes("stopReason"))
		d.pending = append(d.pending, llm.StreamEvent{
			Type: llm.EventFinish, FinishReason: finishReason(raw, d.jsonToolBlock >= 0, d.toolCalls), RawFinishReason: raw,
		})
	case "metadata":
		if u := decodeUsage(v.Get("usage")); u.Known {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventUsage, Usage: u})
		}
		if d.stopped {
			d.done = true // metadata is the last event
		}
	}
	return nil
}

func (d *StreamDecoder) delta(index int, delta *fastjson.Value) {
	if delta == nil {
		return
	}
	switch {
	case delta.Exists("text"):
		if t := delta.GetStringBytes("text"); len(t) > 0 {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventText, Text: string(t)})
		}
	case delta.Exists("toolUse"):
		if index == d.jsonToolBlock {
			if in := delta.GetStringBytes("toolUse", "input"); len(in) > 0 {
				d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventText, Text: string(in)})
			}
			return
		}
		tool, ok := d.blocks[index]
		if !ok {
			return // input for a block that never started: nothing to attach it to
		}
		if in := delta.GetStringBytes("toolUse", "input"); len(in) > 0 {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventToolCallDelta, ToolIndex: tool, Text: string(in)})
		}
	case delta.Exists("reasoningContent"):
		rc := delta.Get("reasoningContent")
		ev := llm.StreamEvent{Type: llm.EventReasoning, Text: string(rc.GetStringBytes("text")), Signature: string(rc.GetStringBytes("signature"))}
		if ev.Text != "" || ev.Signature != "" {
			d.pending = append(d.pending, ev)
		}
	}
}

// exception decodes an exception frame; the in-stream names are lowerCamel
// (throttlingException), normalised to the HTTP errors' UpperCamel.
func (d *StreamDecoder) exception(name string, payload []byte) error {
	e := &llm.UpstreamError{Type: name}
	if name != "" {
		e.Type = strings.ToUpper(name[:1]) + name[1:]
	}
	if v, err := d.parser.ParseBytes(payload); err == nil {
		e.Message = string(v.GetStringBytes("message"))
	}
	if e.Message == "" {
		e.Message = "stream exception"
	}
	return e
}
