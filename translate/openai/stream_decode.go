package openai

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fastjson"
)

// doneMarker is the data payload that ends an OpenAI stream.
var doneMarker = []byte("[DONE]")

// StreamDecoder turns a Chat Completions SSE stream into canonical events. Only choice 0 is
// read. It is not safe for concurrent use.
type StreamDecoder struct {
	events *sse.Reader
	// parser comes from the pool and goes back when the stream ends; a decoder abandoned
	// mid-stream just leaves it to the garbage collector.
	parser *fastjson.Parser

	// pending holds the events decoded from one chunk that Next has not returned yet.
	pending []llm.StreamEvent
	next    int

	started bool
	done    bool
	err     error

	// calls maps the wire index of each tool call, in order of first appearance, to its
	// canonical index (its position here); ids remembers each call's id for servers that
	// send index -1 or none.
	calls []int
	ids   []string
}

// NewStreamDecoder reads the stream from r.
func NewStreamDecoder(r io.Reader) *StreamDecoder {
	return &StreamDecoder{events: sse.NewReader(r), parser: parsers.Get(), pending: make([]llm.StreamEvent, 0, 4)}
}

// Next returns the next event. It returns io.EOF after `data: [DONE]`, an error wrapping
// llm.ErrStreamTruncated when the stream ends before it, an *llm.UpstreamError (Status 0) for an
// error payload, and an error wrapping ErrMalformed for a payload that is not a chunk. Once it
// has returned an error, it returns the same error again.
func (d *StreamDecoder) Next() (llm.StreamEvent, error) {
	for {
		if d.next < len(d.pending) {
			ev := d.pending[d.next]
			d.next++
			return ev, nil
		}
		if d.err != nil {
			return llm.StreamEvent{}, d.err
		}
		d.pending, d.next = d.pending[:0], 0
		if d.err = d.readChunk(); d.err != nil {
			// Events already queued hold copies, never parser or reader memory, so both can
			// go back to their pools now: nothing reads the stream after its end.
			if d.parser != nil {
				parsers.Put(d.parser)
				d.parser = nil
			}
			if d.events != nil {
				d.events.Release()
				d.events = nil
			}
		}
	}
}

// readChunk reads one SSE event and queues the events it holds.
func (d *StreamDecoder) readChunk() error {
	if d.done {
		return io.EOF
	}
	ev, err := d.events.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("openai: read stream: %w", llm.ErrStreamTruncated)
		}
		return fmt.Errorf("openai: read stream: %w", err)
	}
	data := bytes.TrimSpace(ev.Data)
	if bytes.Equal(data, doneMarker) {
		d.done = true
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	v, err := d.parser.ParseBytes(data)
	if err != nil {
		// The SSE reader dispatches a last event cut off by the end of the stream; a partial
		// chunk there is a truncation, not a malformed payload.
		if _, nextErr := d.events.Next(); errors.Is(nextErr, io.EOF) || errors.Is(nextErr, io.ErrUnexpectedEOF) {
			return fmt.Errorf("openai: read stream: %w (last chunk cut off)", llm.ErrStreamTruncated)
		}
		return fmt.Errorf("openai: decode stream chunk: %w: %s", ErrMalformed, err)
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("openai: decode stream chunk: %w: chunk is %s, not an object", ErrMalformed, v.Type())
	}
	if e := v.Get("error"); !isNull(e) {
		return streamErrorFrom(e)
	}
	if string(ev.Name) == "error" {
		return streamErrorFrom(v)
	}
	if !d.started {
		d.started = true
		d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventStart, ID: str(v, "id"), Model: str(v, "model")})
	}
	for _, choice := range v.GetArray("choices") {
		if choice.GetInt("index") != 0 {
			continue
		}
		d.decodeChoice(choice)
	}
	if u, ok := usageFrom(v.Get("usage")); ok {
		d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventUsage, Usage: u})
	}
	return nil
}

func (d *StreamDecoder) decodeChoice(choice *fastjson.Value) {
	if delta := choice.Get("delta"); delta != nil {
		// reasoning_content: the reasoning OpenAI-compatible servers stream (DeepSeek, vLLM,
		// OpenRouter's "reasoning"); OpenAI itself sends none.
		if text := reasoningText(delta); len(text) > 0 {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventReasoning, Text: string(text)})
		}
		if text := delta.GetStringBytes("content"); len(text) > 0 {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventText, Text: string(text)})
		}
		if text := delta.GetStringBytes("refusal"); len(text) > 0 {
			d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventText, Text: string(text)})
		}
		for _, tc := range delta.GetArray("tool_calls") {
			d.decodeToolCallDelta(tc)
		}
		if fc := delta.Get("function_call"); fc != nil && fc.Type() == fastjson.TypeObject {
			d.decodeToolCallDelta(fc)
		}
	}
	if raw := choice.GetStringBytes("finish_reason"); len(raw) > 0 {
		rawReason := string(raw)
		d.pending = append(d.pending, llm.StreamEvent{
			Type: llm.EventFinish, FinishReason: normalizeFinish(rawReason), RawFinishReason: rawReason,
		})
	}
}

// decodeToolCallDelta queues the start and/or argument fragment of one tool-call delta. The
// first fragment for a call opens it; a fragment for a call never opened (no id seen) opens it
// with whatever id and name it carries, so no argument text is lost.
func (d *StreamDecoder) decodeToolCallDelta(tc *fastjson.Value) {
	id := tc.GetStringBytes("id")
	fn := tc.Get("function")
	var name, args []byte
	if fn == nil {
		fn = tc // the deprecated function_call delta carries name/arguments directly
	}
	name, args = fn.GetStringBytes("name"), fn.GetStringBytes("arguments")

	wire, hasIndex := -1, false
	if iv := tc.Get("index"); iv != nil && iv.Type() == fastjson.TypeNumber {
		if n, err := iv.Int(); err == nil && n >= 0 {
			wire, hasIndex = n, true
		}
	}
	slot := -1
	if hasIndex {
		for i, w := range d.calls {
			if w == wire {
				slot = i
				break
			}
		}
	} else if n := len(d.calls); n > 0 && (len(id) == 0 || string(id) == d.ids[n-1]) {
		// No usable index: a fragment without a new id continues the latest call.
		slot = n - 1
	}
	if slot < 0 {
		slot = len(d.calls)
		if !hasIndex {
			wire = -1 - slot // never collides with a real index
		}
		d.calls = append(d.calls, wire)
		d.ids = append(d.ids, string(id))
		d.pending = append(d.pending, llm.StreamEvent{
			Type: llm.EventToolCallStart, ToolIndex: slot, ToolCallID: d.ids[slot], ToolName: string(name),
		})
	}
	if len(args) > 0 {
		d.pending = append(d.pending, llm.StreamEvent{Type: llm.EventToolCallDelta, ToolIndex: slot, Text: string(args)})
	}
}
