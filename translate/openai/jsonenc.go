package openai

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Unlike strconv.AppendQuote it emits only
// escapes JSON defines, replaces invalid UTF-8 with U+FFFD, and escapes U+2028/U+2029 so the
// output is also safe inside JavaScript.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends the body of a JSON string literal holding s, without the quotes.
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
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
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// decodeRune decodes the first rune of s without converting s (which would allocate for []byte
// to string).
func decodeRune[T string | []byte](s T) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[:min(len(s), utf8.UTFMax)])
	return utf8.DecodeRune(buf[:n])
}

// appendFloat appends f as a JSON number; NaN and infinities have no JSON form.
func appendFloat(dst []byte, name string, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, invalidf("%s must be a finite number", name)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}

// appendKey appends `"key":`, preceded by a comma unless it opens the object. Keys are constant
// ASCII identifiers, so they need no escaping.
func appendKey(dst []byte, key string) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// isJSONObject reports whether raw is a well-formed JSON object.
func isJSONObject(raw []byte) bool {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && fastjson.ValidateBytes(raw) == nil
}

// errArgumentsNotObject reports tool-call arguments that are not a JSON object.
var errArgumentsNotObject = errors.New("arguments are not a JSON object")

// appendRawObject appends raw, a JSON object supplied by the caller, or "{}" when it is empty.
// ok is false when raw is not a JSON object; the caller names the field in its error.
func appendRawObject(dst []byte, raw []byte) (out []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return append(dst, '{', '}'), true
	}
	if !isJSONObject(raw) {
		return dst, false
	}
	return append(dst, raw...), true
}

// invalidf builds an error caused by the caller's input.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("openai: %s: %w", fmt.Sprintf(format, args...), llm.ErrInvalidRequest)
}

// appendValue re-encodes a parsed value. fastjson's own MarshalTo quotes unescaped strings with
// strconv.AppendQuote, which is not JSON-correct, and passes through the non-JSON numbers its
// parser tolerates (NaN, Inf, 1.2.3); this re-escapes strings and rejects such numbers.
func appendValue(dst []byte, v *fastjson.Value) ([]byte, error) {
	var err error
	switch v.Type() {
	case fastjson.TypeObject:
		dst = append(dst, '{')
		first := true
		v.GetObject().Visit(func(key []byte, item *fastjson.Value) {
			if err != nil {
				return
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, key)
			dst = append(dst, ':')
			dst, err = appendValue(dst, item)
		})
		return append(dst, '}'), err
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, item := range v.GetArray() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, item); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case fastjson.TypeString:
		return appendJSONString(dst, v.GetStringBytes()), nil
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		if fastjson.ValidateBytes(dst[start:]) != nil {
			return dst[:start], fmt.Errorf("invalid number %q", dst[start:])
		}
		return dst, nil
	}
	return v.MarshalTo(dst), nil // true, false, null
}
