package gemini

import (
	"errors"
	"unicode/utf8"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/valyala/fastjson"
)

// parserPool serves every fastjson parse in this package: unary replies, error bodies and the
// caller-supplied JSON fragments that must be rewritten.
var parserPool fastjson.ParserPool

var (
	errNotObject   = errors.New("not a JSON object")
	errInvalidUTF8 = errors.New("not valid UTF-8")
)

// checkObject validates raw as one JSON object and returns it without the surrounding
// whitespace, ready to be copied as is. Unlike jsonw.IsObject it also demands valid UTF-8,
// because Gemini rejects a body that is not, and it keeps fastjson's error to say where the
// object is malformed.
func checkObject(raw []byte) ([]byte, error) {
	raw = jsonw.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return raw, errNotObject
	}
	if err := fastjson.ValidateBytes(raw); err != nil {
		return raw, err
	}
	if !utf8.Valid(raw) {
		return raw, errInvalidUTF8
	}
	return raw, nil
}

// objectText is checkObject for a string, such as a tool result's text, which converting to
// []byte would copy: it returns s trimmed and whether it is one JSON object in valid UTF-8.
func objectText(s string) (trimmed string, ok bool) {
	s = jsonw.TrimSpace(s)
	if len(s) == 0 || s[0] != '{' || !utf8.ValidString(s) {
		return s, false
	}
	return s, fastjson.Validate(s) == nil
}
