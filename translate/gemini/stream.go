package gemini

import (
	"errors"
	"fmt"
	"io"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fastjson"
)

// StreamDecoder turns a streamGenerateContent?alt=sse reply into canonical events.
//
// Per chunk it yields, in order: EventStart (first chunk only: responseId and modelVersion);
// EventUsage with that chunk's usageMetadata, which replaces the previous one; EventText for
// each answer text part (thoughts skipped); EventToolCallStart then one
// EventToolCallDelta holding the whole arguments object for each functionCall part (Gemini
// sends calls whole; ids minted as in DecodeResponse, indices counted across the stream);
// and EventFinish at the first chunk with a finishReason (tool_calls if any call was seen).
//
// The stream ends when the body does. Next then returns io.EOF if a finishReason was seen, and
// an error wrapping llm.ErrStreamTruncated if not. A chunk holding an error envelope ends the
// stream with an *llm.UpstreamError (Status 0, Provider "gemini"). It is not safe for
// concurrent use.
type StreamDecoder struct {
	events *sse.Reader
	parser *fastjson.Parser // from parserPool while the stream is open

	pending []llm.StreamEvent // events decoded from the current chunk, not yet returned
	next    int
	err     error // terminal result, returned once pending is drained

	started    bool
	finished   bool
	calls      int
	responseID string
	idBase     string
	scratch    []byte
}

// NewStreamDecoder reads the stream from r.
func NewStreamDecoder(r io.Reader) *StreamDecoder {
	return &StreamDecoder{events: sse.NewReader(r), pending: make([]llm.StreamEvent, 0, 4)}
}

// Next returns the next event; io.EOF after the terminal event.
func (d *StreamDecoder) Next() (llm.StreamEvent, error) {
	for {
		if d.next < len(d.pending) {
			ev := d.pending[d.next]
			d.pending[d.next] = llm.StreamEvent{}
			d.next++
			return ev, nil
		}
		d.pending, d.next = d.pending[:0], 0
		if d.err != nil {
			return llm.StreamEvent{}, d.err
		}
		if err := d.readChunk(); err != nil {
			d.pending = d.pending[:0] // a chunk that fails is not half-delivered
			d.err = err
			d.release()
		}
	}
}

func (d *StreamDecoder) readChunk() error {
	ev, err := d.events.Next()
	if err != nil {
		return d.endOfStream(err)
	}
	data := jsonw.TrimSpace(ev.Data)
	switch {
	case len(data) == 0:
		return nil
	case string(data) == "[DONE]": // not Gemini's, but some relays append it
		return d.endOfStream(io.EOF)
	}
	return d.decodeChunk(data)
}

func (d *StreamDecoder) endOfStream(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if d.finished {
			return io.EOF
		}
		return fmt.Errorf("gemini stream ended without a finishReason: %w", llm.ErrStreamTruncated)
	default:
		return fmt.Errorf("read gemini stream: %w", err)
	}
}

// release returns the parser and the SSE reader to their pools once the stream has ended:
// Next reads neither again, and queued events hold copies.
func (d *StreamDecoder) release() {
	if d.parser != nil {
		parserPool.Put(d.parser)
		d.parser = nil
	}
	if d.events != nil {
		d.events.Release()
		d.events = nil
	}
}

func (d *StreamDecoder) push(ev llm.StreamEvent) { d.pending = append(d.pending, ev) }

func (d *StreamDecoder) decodeChunk(data []byte) error {
	if d.parser == nil {
		d.parser = parserPool.Get()
	}
	chunk, err := d.parser.ParseBytes(data)
	if err != nil {
		return fmt.Errorf("decode gemini stream chunk: %w", err)
	}
	if chunk.Type() != fastjson.TypeObject {
		return fmt.Errorf("decode gemini stream chunk: %w", errNotObject)
	}
	if ev := chunk.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
		ue := &llm.UpstreamError{Provider: replyProvider}
		fillFromEnvelope(ue, ev)
		return ue
	}

	if !d.started {
		d.started = true
		d.responseID = string(chunk.GetStringBytes("responseId"))
		d.push(llm.StreamEvent{
			Type:  llm.EventStart,
			ID:    d.responseID,
			Model: string(chunk.GetStringBytes("modelVersion")),
		})
	}

	// Usage before the chunk's content: a Messages stream's message_start waits for the first
	// content and then carries the usage seen so far, and Gemini reports the prompt's tokens in
	// the first chunk already.
	if usage := decodeUsage(chunk); usage.Known {
		d.push(llm.StreamEvent{Type: llm.EventUsage, Usage: usage})
	}

	if candidates := chunk.GetArray("candidates"); len(candidates) > 0 {
		candidate := candidates[0]
		for _, part := range candidate.GetArray("content", "parts") {
			if fc := part.Get("functionCall"); fc != nil && fc.Type() == fastjson.TypeObject {
				if err := d.decodeCall(data, part, fc); err != nil {
					return err
				}
				continue
			}
			if thought, ok := thoughtText(part); ok {
				if len(thought) > 0 {
					d.push(llm.StreamEvent{Type: llm.EventReasoning, Text: string(thought)})
				}
				continue
			}
			if text, ok := partText(part); ok && len(text) > 0 {
				d.push(llm.StreamEvent{Type: llm.EventText, Text: string(text)})
			}
		}
		if raw := candidate.GetStringBytes("finishReason"); len(raw) > 0 && !d.finished {
			d.finished = true
			rawReason := string(raw)
			d.push(llm.StreamEvent{
				Type:            llm.EventFinish,
				FinishReason:    mapFinishReason(rawReason, d.calls > 0),
				RawFinishReason: rawReason,
			})
		}
	} else if block := chunk.GetStringBytes("promptFeedback", "blockReason"); len(block) > 0 && !d.finished {
		d.finished = true
		d.push(llm.StreamEvent{
			Type:            llm.EventFinish,
			FinishReason:    llm.FinishContentFilter,
			RawFinishReason: string(block),
		})
	}

	return nil
}

func (d *StreamDecoder) decodeCall(data []byte, part, fc *fastjson.Value) error {
	call, scratch, err := decodeFunctionCall(d.scratch[:0], part, fc)
	d.scratch = scratch
	if err != nil {
		return fmt.Errorf("decode gemini stream chunk: %w", err)
	}
	args := string(call.Arguments)
	if call.ID == "" {
		if d.idBase == "" {
			d.idBase = mintedIDBase(d.responseID, data)
		}
		d.scratch = appendMintedID(d.scratch[:0], d.idBase, d.calls)
		call.ID = string(d.scratch)
	}
	d.push(llm.StreamEvent{
		Type:       llm.EventToolCallStart,
		ToolIndex:  d.calls,
		ToolCallID: call.ID,
		ToolName:   call.Name,
		Signature:  call.Signature,
	})
	d.push(llm.StreamEvent{Type: llm.EventToolCallDelta, ToolIndex: d.calls, Text: args})
	d.calls++
	return nil
}
