package jsonw

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// ErrInvalidNumber is wrapped by Value's error for a number fastjson parsed but JSON's grammar
// rejects.
var ErrInvalidNumber = errors.New("invalid JSON number")

// TrimSpace trims the four bytes JSON counts as whitespace. bytes.TrimSpace would also strip
// Unicode spaces, which are not whitespace to a JSON parser.
func TrimSpace[T ~string | ~[]byte](s T) T {
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

// IsObject reports whether raw is exactly one well-formed JSON object, surrounding whitespace
// allowed. It checks the grammar only, not UTF-8, and does not allocate when raw is valid, so
// encoders can vet caller-supplied fragments before copying them into a body.
func IsObject(raw []byte) bool {
	t := TrimSpace(raw)
	return len(t) > 0 && t[0] == '{' && fastjson.ValidateBytes(t) == nil
}

// IsNull reports whether raw is empty or the JSON null: callers hand in either to mean "no
// value" (OpenAI clients send "" for a tool call without arguments).
func IsNull(raw []byte) bool {
	raw = TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// Value appends v re-encoded as compact JSON. fastjson's own MarshalTo cannot be trusted with
// input it merely parsed: it quotes strings with strconv, whose \x escapes are not JSON, and
// copies verbatim the numbers its lenient parser accepts (nan, inf, 1.). Value escapes as
// String does and rejects such numbers with an error wrapping ErrInvalidNumber; on error dst
// is returned unchanged.
func Value(dst []byte, v *fastjson.Value) ([]byte, error) {
	return ValueWithout(dst, v, "")
}

// ValueWithout is Value leaving out the top-level object key skip (none when skip is ""), for
// a caller that must drop one member a receiver would reject.
func ValueWithout(dst []byte, v *fastjson.Value, skip string) ([]byte, error) {
	start := len(dst)
	out, err := appendValue(dst, v, skip)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func appendValue(dst []byte, v *fastjson.Value, skip string) ([]byte, error) {
	var err error
	switch v.Type() {
	case fastjson.TypeObject:
		dst = append(dst, '{')
		first := true
		v.GetObject().Visit(func(key []byte, item *fastjson.Value) {
			if err != nil || (skip != "" && string(key) == skip) {
				return
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = String(dst, key)
			dst = append(dst, ':')
			dst, err = appendValue(dst, item, "")
		})
		return append(dst, '}'), err
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, item := range v.GetArray() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, item, ""); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case fastjson.TypeString:
		return String(dst, v.GetStringBytes()), nil
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		if !validNumber(dst[start:]) {
			return dst, fmt.Errorf("%w %q", ErrInvalidNumber, dst[start:])
		}
		return dst, nil
	case fastjson.TypeTrue:
		return append(dst, "true"...), nil
	case fastjson.TypeFalse:
		return append(dst, "false"...), nil
	}
	return append(dst, "null"...), nil
}

// validNumber reports whether b is a number in JSON's grammar, which is stricter than what
// fastjson's parser accepts.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		digits := i + 1
		if i = skipDigits(b, digits); i == digits {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		digits := i
		if i = skipDigits(b, digits); i == digits {
			return false
		}
	}
	return i == len(b)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
