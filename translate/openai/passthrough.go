package openai

import (
	"bytes"

	"github.com/tracegate/tracegate/internal/jsonscan"
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// ScanRequest reads model, stream and stream_options.include_usage from a Chat Completions
// request body without decoding the rest. Errors wrap llm.ErrInvalidRequest: the body is not a
// JSON object, the model is missing or not a string, or stream/include_usage is not a boolean.
// model, stream or stream_options given twice is refused: the upstream might read the other one.
func ScanRequest(body []byte) (model string, stream bool, includeUsage bool, err error) {
	s, ok := newObjectScanner(body, 0)
	if !ok {
		return "", false, false, invalidf("body must be a JSON object")
	}
	var seen jsonscan.Seen
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		v := body[m.Start:m.End]
		switch {
		case keyIs(m.Key, "model"):
			if !seen.First(0) {
				return "", false, false, givenTwice("model")
			}
			if v[0] != '"' {
				return "", false, false, invalidf("model must be a string")
			}
			if model, ok = unquoteModel(v[1 : len(v)-1]); !ok {
				return "", false, false, invalidf("model is not a valid JSON string")
			}
		case keyIs(m.Key, "stream"):
			if !seen.First(1) {
				return "", false, false, givenTwice("stream")
			}
			if stream, ok = scanBool(v); !ok {
				return "", false, false, invalidf("stream must be a boolean")
			}
		case keyIs(m.Key, "stream_options"):
			if !seen.First(2) {
				return "", false, false, givenTwice("stream_options")
			}
			if includeUsage, ok = scanIncludeUsage(v); !ok {
				return "", false, false, invalidf("stream_options must be an object with a boolean include_usage")
			}
		}
	}
	if !s.Finish() {
		return "", false, false, invalidf("body is not valid JSON")
	}
	if model == "" { // absent or empty
		return "", false, false, invalidf("model is required")
	}
	return model, stream, includeUsage, nil
}

// scanBool reads a boolean value; null counts as false.
func scanBool(v []byte) (value, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false", "null":
		return false, true
	}
	return false, false
}

func scanIncludeUsage(v []byte) (includeUsage, ok bool) {
	if string(v) == "null" {
		return false, true
	}
	s, ok := newObjectScanner(v, 0)
	if !ok {
		return false, false
	}
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		if keyIs(m.Key, "include_usage") {
			if includeUsage, ok = scanBool(v[m.Start:m.End]); !ok {
				return false, false
			}
		}
	}
	return includeUsage, s.Finish()
}

// WithIncludeUsage appends body to dst with stream_options.include_usage set to true, inserted
// or replaced by splicing bytes: everything else, including other stream_options, is kept as
// sent. Only a streaming request may carry stream_options (OpenAI rejects it otherwise), so the
// caller applies this when ScanRequest reported stream. A body that is not a JSON object is
// appended unchanged, for the upstream to reject.
func WithIncludeUsage(dst, body []byte) []byte {
	out, ok := setMember(dst, body, "stream_options", false, appendIncludeUsage)
	if !ok {
		return append(dst, body...)
	}
	return out
}

// appendIncludeUsage appends a stream_options value (nil when absent) with include_usage
// forced to true.
func appendIncludeUsage(dst, v []byte) []byte {
	if v != nil {
		if out, ok := setMember(dst, v, "include_usage", false, appendTrue); ok {
			return out
		}
	}
	return append(dst, `{"include_usage":true}`...)
}

func appendTrue(dst, _ []byte) []byte { return append(dst, "true"...) }

// WithModel appends body to dst with the top-level "model" value replaced by model (inserted
// when absent), splicing bytes so the rest is forwarded as sent. A body that is not a JSON
// object is appended unchanged.
func WithModel(dst, body []byte, model string) []byte {
	out, ok := setMember(dst, body, "model", true, func(dst, _ []byte) []byte { return jsonw.String(dst, model) })
	if !ok {
		return append(dst, body...)
	}
	return out
}

// setMember appends the JSON object obj to dst with the value of every member named key
// replaced by put(dst, old), or, when there is none, with the member added (first when front,
// else last) and put called with a nil old value. The rest is copied byte for byte. ok is
// false, and dst returned as it came, when obj is not one well-formed JSON object.
func setMember(dst, obj []byte, key string, front bool, put func(dst, old []byte) []byte) ([]byte, bool) {
	s, ok := newObjectScanner(obj, 0)
	if !ok {
		return dst, false
	}
	orig := len(dst)
	copied, found, members := 0, false, 0
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		members++
		if keyIs(m.Key, key) {
			found = true
			dst = append(dst, obj[copied:m.Start]...)
			dst = put(dst, obj[m.Start:m.End])
			copied = m.End
		}
	}
	if !s.Finish() {
		return dst[:orig], false
	}
	if !found {
		at := s.Close()
		if front {
			at = s.Open() + 1
		}
		dst = append(dst, obj[:at]...)
		if !front && members > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, key)
		dst = append(dst, ':')
		dst = put(dst, nil)
		if front && members > 0 {
			dst = append(dst, ',')
		}
		copied = at
	}
	return append(dst, obj[copied:]...), true
}

// ScanUsage reads the top-level usage of a complete chat.completion body. ok is false when the
// body has none.
func ScanUsage(body []byte) (llm.Usage, bool) {
	v, ok := topLevel(body, "usage")
	if !ok || v[0] != '{' {
		return llm.Usage{}, false
	}
	return parseUsage(v)
}

// ScanChunk reads one SSE data payload of a Chat Completions stream. hasUsage says the chunk
// carries a usage object; usageOnly says it is the extra usage chunk (choices: []) that
// include_usage adds, which a gateway drops for clients that did not ask for it. The [DONE]
// marker and non-object payloads report nothing.
func ScanChunk(data []byte) (usage llm.Usage, hasUsage bool, usageOnly bool) {
	// Most chunks carry no usage at all; one vectorised search settles them.
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return llm.Usage{}, false, false
	}
	s, ok := newObjectScanner(data, 0)
	if !ok {
		return llm.Usage{}, false, false
	}
	var usageValue []byte
	emptyChoices := false
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		v := data[m.Start:m.End]
		switch {
		case keyIs(m.Key, "usage"):
			usageValue = v
		case keyIs(m.Key, "choices"):
			emptyChoices = len(v) >= 2 && v[0] == '[' && skipSpace(v, 1) == len(v)-1
		}
	}
	if s.Failed() || len(usageValue) == 0 || usageValue[0] != '{' {
		return llm.Usage{}, false, false
	}
	usage, hasUsage = parseUsage(usageValue)
	return usage, hasUsage, hasUsage && emptyChoices
}

// ScanModel reads the top-level model of a response body or chunk; "" when absent.
func ScanModel(body []byte) string {
	v, ok := topLevel(body, "model")
	if !ok || v[0] != '"' {
		return ""
	}
	model, _ := unquoteModel(v[1 : len(v)-1])
	return model
}

// topLevel returns the raw value of the last top-level member named key.
func topLevel(body []byte, key string) ([]byte, bool) {
	s, ok := newObjectScanner(body, 0)
	if !ok {
		return nil, false
	}
	var found []byte
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		if keyIs(m.Key, key) {
			found = body[m.Start:m.End]
		}
	}
	if s.Failed() || found == nil {
		return nil, false
	}
	return found, true
}

// parseUsage decodes a usage object found by the scanner.
func parseUsage(v []byte) (llm.Usage, bool) {
	p := parsers.Get()
	defer parsers.Put(p)
	u, err := p.ParseBytes(v)
	if err != nil {
		return llm.Usage{}, false
	}
	return usageFrom(u)
}

// ScanStreamError returns the error carried by one SSE data payload of a passed-through stream
// ({"error":{...}} after the 200), or nil when the payload is an ordinary chunk. Only a
// top-level "error" member counts, so a chunk whose text merely says "error" is not one.
func ScanStreamError(data []byte) *llm.UpstreamError {
	if !bytes.Contains(data, []byte(`"error"`)) {
		return nil
	}
	v, ok := topLevel(data, "error")
	if !ok || string(v) == "null" {
		return nil
	}
	p := parsers.Get()
	defer parsers.Put(p)
	e, err := p.ParseBytes(v)
	if err != nil {
		return nil
	}
	return streamErrorFrom(e)
}
