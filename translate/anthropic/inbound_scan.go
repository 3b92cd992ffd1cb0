package anthropic

import (
	"github.com/tracegate/tracegate/internal/intern"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// ScanReply reads the model, stop reason and usage of a passed-through Messages reply into
// dst, for spans and pricing; the content is not decoded. It is false when body is not a JSON
// object.
func ScanReply(dst *llm.Response, body []byte) bool {
	*dst = llm.Response{}
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil || v.Type() != fastjson.TypeObject {
		return false
	}
	dst.ID = string(v.GetStringBytes("id"))
	dst.Model = bodyNames.Bytes(v.GetStringBytes("model"))
	dst.RawFinishReason = bodyNames.Bytes(v.GetStringBytes("stop_reason"))
	dst.FinishReason = FinishReason(dst.RawFinishReason)
	if u, ok := parseUsage(v.Get("usage")); ok {
		dst.Usage = u.canonical()
	}
	return true
}

// bodyNames interns the model names of requests and the model names and stop reasons of
// replies: a deployment sees a few.
var bodyNames = intern.New(1024)

// StreamScanner follows a passed-through Messages stream for spans and pricing: it parses
// only message_start, message_delta and error events (usage, model, stop reason), so the
// content deltas that make up most of a stream cost a comparison of their event name.
type StreamScanner struct {
	parser *fastjson.Parser // from parserPool while in use; Release returns it
	usage  wireUsage
	seen   bool
	resp   llm.Response
	done   bool
}

// Observe reads one SSE event. It returns the error an error event carries (the stream is
// then over), else nil.
func (s *StreamScanner) Observe(name, data []byte) *llm.UpstreamError {
	if len(name) == 0 {
		name = s.typeOf(data) // a relay that dropped the event: lines; rare, so parsed
	}
	switch string(name) {
	case "message_start", "message_delta", "message_stop", "error":
	default:
		return nil
	}
	if string(name) == "message_stop" {
		s.done = true
		return nil
	}
	if s.parser == nil {
		s.parser = parserPool.Get()
	}
	v, err := s.parser.ParseBytes(data)
	if err != nil {
		return nil
	}
	switch string(name) {
	case "message_start":
		m := v.Get("message")
		s.resp.ID = string(m.GetStringBytes("id"))
		s.resp.Model = string(m.GetStringBytes("model"))
		if u, ok := parseUsage(m.Get("usage")); ok {
			s.usage, s.seen = u, true
		}
	case "message_delta":
		if r := v.GetStringBytes("delta", "stop_reason"); len(r) > 0 {
			s.resp.RawFinishReason = string(r)
			s.resp.FinishReason = FinishReason(s.resp.RawFinishReason)
		}
		if u, ok := parseUsage(v.Get("usage")); ok {
			s.usage, s.seen = s.usage.overlay(u), true
		}
	case "error":
		s.done = true
		return &llm.UpstreamError{Type: string(v.GetStringBytes("error", "type")), Message: string(v.GetStringBytes("error", "message"))}
	}
	return nil
}

// typeOf reads the type field of an event's data.
func (s *StreamScanner) typeOf(data []byte) []byte {
	if s.parser == nil {
		s.parser = parserPool.Get()
	}
	v, err := s.parser.ParseBytes(data)
	if err != nil {
		return nil
	}
	return append([]byte(nil), v.GetStringBytes("type")...)
}

// Release returns the scanner's parser to the pool; the scanner stays usable.
func (s *StreamScanner) Release() {
	if s.parser != nil {
		parserPool.Put(s.parser)
		s.parser = nil
	}
}

// Done reports whether the terminal message_stop (or an error event) was seen.
func (s *StreamScanner) Done() bool { return s.done }

// Response is what the stream said of itself so far: id, model, stop reason, usage.
func (s *StreamScanner) Response() llm.Response {
	r := s.resp
	if s.seen {
		r.Usage = s.usage.canonical()
	}
	return r
}
