package responses

import (
	"bytes"

	"github.com/tracegate/tracegate/internal/intern"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// Passed-through replies are not decoded: a reply is parsed once for its id, model and usage,
// and of a stream only the few events that carry them (response.created and the terminal
// event) are parsed at all; the deltas are recognised by their event name and relayed.

// modelNames interns the model names replies carry: a deployment sees a handful, and each
// reply would otherwise make its own copy.
var modelNames = intern.New(1024)

// Scanned is what spans, pricing and routing need from a passed-through reply or event.
type Scanned struct {
	ID    string
	Model string
	Usage llm.Usage
	// Terminal marks the event that ends a stream (response.completed, .incomplete, .failed,
	// or error).
	Terminal bool
	// Err is the error a response.failed or error event reports.
	Err *llm.UpstreamError
	// Finish is derived as the Responses API implies it (there is no finish_reason).
	Finish llm.FinishReason
	// Stored is the response's store flag: false when the provider keeps nothing to fetch.
	Stored bool
}

// ScanReply reads a Response object body. ok is false when it is not a JSON object.
func ScanReply(body []byte) (s Scanned, ok bool) {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil || v.Type() != fastjson.TypeObject {
		return s, false
	}
	scanResponse(v, &s)
	return s, true
}

func scanResponse(v *fastjson.Value, s *Scanned) {
	s.ID = string(v.GetStringBytes("id"))
	s.Model = modelNames.Bytes(v.GetStringBytes("model"))
	s.Stored = v.Get("store") == nil || v.GetBool("store") // OpenAI stores unless told not to
	if u := v.Get("usage"); u != nil && u.Type() == fastjson.TypeObject {
		s.Usage = usageFrom(u)
	}
	s.Finish = llm.FinishStop
	switch string(v.GetStringBytes("status")) {
	case StatusIncomplete:
		s.Finish = llm.FinishLength
		if string(v.GetStringBytes("incomplete_details", "reason")) == "content_filter" {
			s.Finish = llm.FinishContentFilter
		}
	case StatusFailed:
		s.Err = failureFrom(v.Get("error"))
	}
	if s.Finish == llm.FinishStop {
		for _, it := range v.GetArray("output") {
			if string(it.GetStringBytes("type")) == "function_call" {
				s.Finish = llm.FinishToolCalls
				break
			}
		}
	}
}

func usageFrom(u *fastjson.Value) llm.Usage {
	return llm.Usage{
		InputTokens:      u.GetInt64("input_tokens"),
		OutputTokens:     u.GetInt64("output_tokens"),
		CacheReadTokens:  u.GetInt64("input_tokens_details", "cached_tokens"),
		CacheWriteTokens: u.GetInt64("input_tokens_details", "cache_write_tokens"),
		ReasoningTokens:  u.GetInt64("output_tokens_details", "reasoning_tokens"),
		Known:            true,
	}
}

func failureFrom(e *fastjson.Value) *llm.UpstreamError {
	ue := &llm.UpstreamError{Provider: "openai", Type: "server_error", Message: "response failed"}
	if e == nil || e.Type() != fastjson.TypeObject {
		return ue
	}
	if c := string(e.GetStringBytes("code")); c != "" {
		ue.Code, ue.Type = c, c
	}
	if t := string(e.GetStringBytes("type")); t != "" {
		ue.Type = t
	}
	if m := string(e.GetStringBytes("message")); m != "" {
		ue.Message = m
	}
	return ue
}

// EventType returns a stream event's type: its SSE event name, or when a server sends none,
// the "type" member that every Responses event starts with.
func EventType(name, data []byte) []byte {
	if len(name) > 0 {
		return name
	}
	const key = `"type":"`
	i := bytes.Index(data, []byte(key))
	if i < 0 || i > 16 {
		return nil
	}
	rest := data[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}

// ScanEvent reads one event of a passed-through stream. Deltas, which are nearly every event,
// are settled by their name without parsing.
func ScanEvent(name, data []byte) (s Scanned) {
	typ := EventType(name, data)
	switch string(typ) {
	case "response.created", "response.completed", "response.incomplete", "response.failed":
	case "error":
		s.Terminal = true
		s.Err = eventError(data)
		return s
	default:
		return s
	}
	s.Terminal = string(typ) != "response.created"
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(data)
	if err != nil {
		return s
	}
	if r := v.Get("response"); r != nil && r.Type() == fastjson.TypeObject {
		scanResponse(r, &s)
		if string(typ) == "response.failed" && s.Err == nil {
			s.Err = failureFrom(nil)
		}
	}
	return s
}

// eventError decodes an error event: {"type":"error","code","message","param"}.
func eventError(data []byte) *llm.UpstreamError {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(data)
	if err != nil {
		return failureFrom(nil)
	}
	if e := v.Get("error"); e != nil && e.Type() == fastjson.TypeObject {
		return failureFrom(e)
	}
	return failureFrom(v)
}
