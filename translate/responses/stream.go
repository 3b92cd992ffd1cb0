package responses

import (
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// StreamEncoder turns a canonical event stream into Responses SSE events, in the order the API
// sends them: response.created and response.in_progress, then for each output item
// output_item.added, its deltas and dones, output_item.done, and one terminal event
// (response.completed, response.incomplete or response.failed) that carries the whole response
// with its usage. Every event has a sequence_number, counting from 0. It also assembles the
// reply, for spans (Response).
type StreamEncoder struct {
	meta    Meta
	seq     int64
	started bool
	ended   bool
	items   []item
	open    int // index of the item receiving deltas; -1 when none
	// text is the open item's text so far, its item's once it closes: appending to a
	// string would copy all of it on every delta.
	text  []byte
	calls map[int]int
	resp  llm.Response
}

// NewStreamEncoder returns an encoder for one response.
func NewStreamEncoder(m Meta) *StreamEncoder {
	return &StreamEncoder{meta: m, open: -1}
}

// Response returns the reply assembled so far.
func (e *StreamEncoder) Response() *llm.Response {
	r := &e.resp
	r.ID = e.meta.ID
	if r.Model == "" {
		r.Model = e.meta.Model
	}
	r.Text, r.HasText, r.ToolCalls, r.Reasoning = "", false, r.ToolCalls[:0], r.Reasoning[:0]
	var texts []string // of the message items, usually one
	for i := range e.items {
		it := &e.items[i]
		text := it.text
		if i == e.open {
			text = string(e.text)
		}
		switch it.kind {
		case itemMessage:
			texts = append(texts, text)
			r.HasText = true
		case itemCall, itemCustomCall:
			c := it.call
			c.Arguments = argsText(it.args)
			r.ToolCalls = append(r.ToolCalls, c)
		case itemReasoning:
			rs := it.reasoning
			rs.Text = text
			r.Reasoning = append(r.Reasoning, rs)
		}
	}
	r.Text = strings.Join(texts, "")
	return r
}

// begin opens an event: its event line and the start of its data object.
func (e *StreamEncoder) begin(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	dst = append(dst, `","sequence_number":`...)
	dst = jsonw.Int(dst, e.seq)
	e.seq++
	return dst
}

func end(dst []byte) []byte { return append(dst, "}\n\n"...) }

func (e *StreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		dst = e.begin(dst, typ)
		dst = append(dst, `,"response":`...)
		dst = appendResponse(dst, e.metaNow(), StatusInProgress, "", nil, nil, nil)
		dst = end(dst)
	}
	return dst
}

func (e *StreamEncoder) metaNow() *Meta {
	if e.resp.Model != "" && e.resp.Model != e.meta.Model {
		e.meta.Model = e.resp.Model
	}
	return &e.meta
}

// itemHeader writes the item_id and output_index of an event about item i.
func (e *StreamEncoder) itemHeader(dst []byte, i int) []byte {
	dst = append(dst, `,"item_id":`...)
	dst = jsonw.String(dst, e.items[i].id)
	dst = append(dst, `,"output_index":`...)
	return jsonw.Int(dst, int64(i))
}

// openItem closes the open item and announces a new one.
func (e *StreamEncoder) openItem(dst []byte, it item) []byte {
	dst = e.closeOpen(dst)
	i := len(e.items)
	prefix := "msg_"
	switch it.kind {
	case itemCall, itemCustomCall:
		it.kind, prefix = callKind(e.customTools(), it.call.Name)
	case itemReasoning:
		prefix = "rs_"
	}
	it.id = itemID(prefix, e.meta.ID, i)
	e.items = append(e.items, it)
	e.open = i
	dst = e.begin(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, int64(i))
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, &e.items[i], false, e.nsMap())
	dst = end(dst)
	switch it.kind {
	case itemMessage:
		dst = e.begin(dst, "response.content_part.added")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`...)
		dst = end(dst)
	case itemReasoning:
		dst = e.begin(dst, "response.reasoning_summary_part.added")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
		dst = end(dst)
	}
	return dst
}

func (e *StreamEncoder) customTools() map[string]bool {
	if e.meta.Request == nil {
		return nil
	}
	return e.meta.Request.CustomTools
}

func (e *StreamEncoder) nsMap() map[string]string {
	if e.meta.Request == nil {
		return nil
	}
	return e.meta.Request.Namespaces
}

// closeOpen finishes the open item with its done events.
func (e *StreamEncoder) closeOpen(dst []byte) []byte {
	i := e.open
	if i < 0 {
		return dst
	}
	e.open = -1
	it := &e.items[i]
	it.text = string(e.text)
	e.text = e.text[:0]
	switch it.kind {
	case itemMessage:
		dst = e.begin(dst, "response.output_text.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"content_index":0,"text":`...)
		dst = jsonw.String(dst, it.text)
		dst = append(dst, `,"logprobs":[]`...)
		dst = end(dst)
		dst = e.begin(dst, "response.content_part.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"content_index":0,"part":{"type":"output_text","text":`...)
		dst = jsonw.String(dst, it.text)
		dst = append(dst, `,"annotations":[]}`...)
		dst = end(dst)
	case itemCall:
		dst = e.begin(dst, "response.function_call_arguments.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, it.call.Name)
		dst = append(dst, `,"arguments":`...)
		dst = jsonw.String(dst, argsText(it.args))
		dst = end(dst)
	case itemCustomCall:
		// Its arguments stream as JSON around the input, so the input goes out whole here.
		dst = e.begin(dst, "response.custom_tool_call_input.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"input":`...)
		dst = appendCustomInput(dst, argsText(it.args))
		dst = end(dst)
	case itemReasoning:
		dst = e.begin(dst, "response.reasoning_summary_text.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"summary_index":0,"text":`...)
		dst = jsonw.String(dst, it.text)
		dst = end(dst)
		dst = e.begin(dst, "response.reasoning_summary_part.done")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
		dst = jsonw.String(dst, it.text)
		dst = append(dst, `}`...)
		dst = end(dst)
	}
	dst = e.begin(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, int64(i))
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, it, true, e.nsMap())
	return end(dst)
}

// Encode appends the events for one canonical event.
func (e *StreamEncoder) Encode(dst []byte, ev llm.StreamEvent) []byte {
	if e.ended {
		return dst
	}
	if ev.Type == llm.EventStart {
		if ev.Model != "" {
			e.resp.Model = ev.Model
		}
		return e.start(dst)
	}
	dst = e.start(dst)
	switch ev.Type {
	case llm.EventText:
		if ev.Text == "" {
			return dst
		}
		if e.open < 0 || e.items[e.open].kind != itemMessage {
			dst = e.openItem(dst, item{kind: itemMessage})
		}
		i := e.open
		e.text = append(e.text, ev.Text...)
		dst = e.begin(dst, "response.output_text.delta")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"content_index":0,"delta":`...)
		dst = jsonw.String(dst, ev.Text)
		dst = append(dst, `,"logprobs":[]`...)
		dst = end(dst)
	case llm.EventReasoning:
		if e.open < 0 || e.items[e.open].kind != itemReasoning {
			if ev.Text == "" && ev.Signature == "" {
				return dst
			}
			dst = e.openItem(dst, item{kind: itemReasoning})
		}
		i := e.open
		if ev.Text != "" {
			e.text = append(e.text, ev.Text...)
			dst = e.begin(dst, "response.reasoning_summary_text.delta")
			dst = e.itemHeader(dst, i)
			dst = append(dst, `,"summary_index":0,"delta":`...)
			dst = jsonw.String(dst, ev.Text)
			dst = end(dst)
		}
		if ev.Signature != "" {
			e.items[i].reasoning.Signature = ev.Signature
			dst = e.closeOpen(dst)
		}
	case llm.EventToolCallStart:
		dst = e.openItem(dst, item{kind: itemCall, call: llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName}})
		if e.calls == nil {
			e.calls = map[int]int{}
		}
		e.calls[ev.ToolIndex] = e.open
	case llm.EventToolCallDelta:
		i, ok := e.calls[ev.ToolIndex]
		if !ok || ev.Text == "" {
			return dst
		}
		e.items[i].args = append(e.items[i].args, ev.Text...)
		if i != e.open || e.items[i].kind == itemCustomCall {
			return dst // its item is closed: the arguments reach the client in the final object
		}
		dst = e.begin(dst, "response.function_call_arguments.delta")
		dst = e.itemHeader(dst, i)
		dst = append(dst, `,"delta":`...)
		dst = jsonw.String(dst, ev.Text)
		dst = end(dst)
	case llm.EventFinish:
		e.resp.FinishReason, e.resp.RawFinishReason = ev.FinishReason, ev.RawFinishReason
	case llm.EventUsage:
		e.resp.Usage = ev.Usage
	}
	return dst
}

// Finish appends the end of a stream that ended cleanly: the open item's done events and the
// terminal response.completed (or response.incomplete when the reply was cut short).
func (e *StreamEncoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	dst = e.start(dst)
	dst = e.closeOpen(dst)
	e.ended = true
	status := statusOf(e.resp.FinishReason)
	typ := "response.completed"
	if status == StatusIncomplete {
		typ = "response.incomplete"
	}
	dst = e.begin(dst, typ)
	dst = append(dst, `,"response":`...)
	dst = appendResponse(dst, e.metaNow(), status, e.resp.FinishReason, e.items, &e.resp.Usage, nil)
	return end(dst)
}

// Fail appends the end of a stream that broke: response.failed with the error, and the
// output produced until then. A nil err reports a generic server error.
func (e *StreamEncoder) Fail(dst []byte, err *llm.UpstreamError) []byte {
	if e.ended {
		return dst
	}
	dst = e.start(dst)
	dst = e.closeOpen(dst)
	e.ended = true
	if err == nil {
		err = &llm.UpstreamError{Code: "server_error", Message: "the provider stream broke off"}
	}
	dst = e.begin(dst, "response.failed")
	dst = append(dst, `,"response":`...)
	var usage *llm.Usage
	if e.resp.Usage.Known {
		usage = &e.resp.Usage
	}
	dst = appendResponse(dst, e.metaNow(), StatusFailed, "", e.items, usage, err)
	return end(dst)
}
