package gemini

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// parserPool serves every fastjson parse in this package: unary replies, error bodies and the
// caller-supplied JSON fragments that must be rewritten.
var parserPool fastjson.ParserPool

var (
	errNotObject     = errors.New("not a JSON object")
	errInvalidUTF8   = errors.New("not valid UTF-8")
	errInvalidNumber = errors.New("invalid JSON number")
	errNotFinite     = errors.New("not a finite number")
)

type byteString interface{ ~string | ~[]byte }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so that the output is
// always valid JSON, which Gemini requires.
func appendString[S byteString](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		var rb [utf8.UTFMax]byte
		n := copy(rb[:], s[i:])
		r, size := utf8.DecodeRune(rb[:n])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f as a JSON number.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errNotFinite
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}

// appendValue re-encodes a parsed value. fastjson's own MarshalTo is not used because it
// quotes special strings Go-style (\x01), which is not JSON, and copies numbers unchecked.
func appendValue(dst []byte, v *fastjson.Value) ([]byte, error) {
	return appendValueSkipping(dst, v, "")
}

// appendValueSkipping is appendValue that leaves out the top-level object key skip.
func appendValueSkipping(dst []byte, v *fastjson.Value, skip string) ([]byte, error) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		var err error
		o.Visit(func(key []byte, val *fastjson.Value) {
			if err != nil || (skip != "" && string(key) == skip) {
				return
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, key)
			dst = append(dst, ':')
			dst, err = appendValue(dst, val)
		})
		if err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	case fastjson.TypeArray:
		items, _ := v.Array()
		dst = append(dst, '[')
		for i, item := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, item); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return appendString(dst, s), nil
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		if !validNumber(dst[start:]) {
			return dst[:start], errInvalidNumber
		}
		return dst, nil
	default: // true, false, null
		return v.MarshalTo(dst), nil
	}
}

// validNumber reports whether b is a JSON number; fastjson accepts looser forms (1-2, nan).
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		digits := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		digits := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return false
		}
	}
	return i == len(b)
}

// checkObject validates raw as one JSON object in valid UTF-8 and returns it without the
// surrounding whitespace, ready to be copied as is.
func checkObject(raw []byte) ([]byte, error) {
	raw = trimJSONSpace(raw)
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

// objectText returns s without surrounding whitespace when it is one JSON object in valid
// UTF-8, and ok=false otherwise.
func objectText(s string) (trimmed string, ok bool) {
	s = trimJSONSpace(s)
	if len(s) == 0 || s[0] != '{' || !utf8.ValidString(s) {
		return s, false
	}
	return s, fastjson.Validate(s) == nil
}

func trimJSONSpace[S byteString](s S) S {
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	return s[start:end]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isNullJSON reports whether raw is empty or the JSON null, which callers use for "none".
func isNullJSON(raw []byte) bool {
	raw = trimJSONSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }
