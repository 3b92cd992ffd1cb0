package openai

import (
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// ChunkEncoder turns canonical stream events into chat.completion.chunk frames
// (`data: {...}\n\n`), for a streaming client of /v1/chat/completions whose request was served
// by another format. It is not safe for concurrent use.
type ChunkEncoder struct {
	id           string
	model        string
	created      int64
	includeUsage bool

	roleSent bool
	finished bool
	usage    llm.Usage
	// tools maps canonical tool indexes, in order of first appearance, to OpenAI's dense
	// 0,1,2... indexes: other formats number calls by content block, so gaps are common.
	tools []int
}

// NewChunkEncoder returns an encoder whose chunks carry id, model and created. An empty id or
// model is taken from the stream's EventStart. includeUsage is whether the client asked for
// stream_options.include_usage.
func NewChunkEncoder(id, model string, created int64, includeUsage bool) *ChunkEncoder {
	return &ChunkEncoder{id: id, model: model, created: created, includeUsage: includeUsage}
}

// Encode appends the frame for ev, or nothing when ev has no chunk of its own (usage is held
// for Finish; empty text is dropped). The first frame carries delta.role "assistant".
func (e *ChunkEncoder) Encode(dst []byte, ev llm.StreamEvent) []byte {
	switch ev.Type {
	case llm.EventStart:
		if e.id == "" {
			e.id = ev.ID
		}
		if e.model == "" {
			e.model = ev.Model
		}
		if e.roleSent {
			return dst
		}
		dst = e.open(dst)
		dst = append(dst, `"content":""`...)
		return e.close(dst, "")
	case llm.EventText:
		if ev.Text == "" {
			return dst
		}
		dst = e.open(dst)
		dst = append(dst, `"content":`...)
		dst = jsonw.String(dst, ev.Text)
		return e.close(dst, "")
	case llm.EventToolCallStart:
		dst = e.open(dst)
		dst = append(dst, `"tool_calls":[{"index":`...)
		dst = strconv.AppendInt(dst, int64(e.toolIndex(ev.ToolIndex)), 10)
		dst = append(dst, `,"id":`...)
		dst = jsonw.String(dst, ev.ToolCallID)
		dst = append(dst, `,"type":"function","function":{"name":`...)
		dst = jsonw.String(dst, ev.ToolName)
		dst = append(dst, `,"arguments":""}}]`...)
		return e.close(dst, "")
	case llm.EventToolCallDelta:
		if ev.Text == "" {
			return dst
		}
		dst = e.open(dst)
		dst = append(dst, `"tool_calls":[{"index":`...)
		dst = strconv.AppendInt(dst, int64(e.toolIndex(ev.ToolIndex)), 10)
		dst = append(dst, `,"function":{"arguments":`...)
		dst = jsonw.String(dst, ev.Text)
		dst = append(dst, `}}]`...)
		return e.close(dst, "")
	case llm.EventFinish:
		if e.finished {
			return dst
		}
		e.finished = true
		dst = e.open(dst)
		if dst[len(dst)-1] == ',' {
			dst = dst[:len(dst)-1] // a role-only delta needs no trailing comma
		}
		return e.close(dst, finishReason(ev.FinishReason))
	case llm.EventUsage:
		e.usage = ev.Usage
	}
	return dst
}

// Finish appends the end of a stream that ended normally: a finish chunk if none was sent, the
// usage chunk (choices: []) when the client asked for usage and it is known, then
// `data: [DONE]`.
func (e *ChunkEncoder) Finish(dst []byte) []byte {
	if !e.finished {
		dst = e.Encode(dst, llm.StreamEvent{Type: llm.EventFinish, FinishReason: llm.FinishStop})
	}
	if e.includeUsage && e.usage.Known {
		dst = e.appendHeader(dst)
		dst = append(dst, `"choices":[],"usage":`...)
		dst = appendUsage(dst, e.usage)
		dst = append(dst, "}\n\n"...)
	}
	return append(dst, "data: [DONE]\n\n"...)
}

func (e *ChunkEncoder) toolIndex(canonical int) int {
	for i, c := range e.tools {
		if c == canonical {
			return i
		}
	}
	e.tools = append(e.tools, canonical)
	return len(e.tools) - 1
}

// appendHeader appends `data: {` and the fields every chunk repeats.
func (e *ChunkEncoder) appendHeader(dst []byte) []byte {
	dst = append(dst, `data: {"id":`...)
	dst = jsonw.String(dst, e.id)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = strconv.AppendInt(dst, e.created, 10)
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, e.model)
	return append(dst, ',')
}

// open starts a chunk up to the inside of its delta object, adding the role on the first one.
func (e *ChunkEncoder) open(dst []byte) []byte {
	dst = e.appendHeader(dst)
	dst = append(dst, `"choices":[{"index":0,"delta":{`...)
	if !e.roleSent {
		e.roleSent = true
		dst = append(dst, `"role":"assistant",`...)
	}
	return dst
}

// close ends the delta and the chunk; finish is "" for null.
func (e *ChunkEncoder) close(dst []byte, finish string) []byte {
	dst = append(dst, `},"logprobs":null,"finish_reason":`...)
	if finish == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = append(dst, finish...)
		dst = append(dst, '"')
	}
	dst = append(dst, '}', ']')
	if e.includeUsage {
		dst = append(dst, `,"usage":null`...)
	}
	return append(dst, "}\n\n"...)
}
