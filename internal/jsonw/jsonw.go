package jsonw

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe marks the ASCII bytes String copies as they are; one table load keeps the common path
// as fast as a writer that skipped the HTML escapes.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// ErrNotFinite is FloatChecked's error: JSON has no NaN or infinity.
var ErrNotFinite = errors.New("not a finite number")

// String appends s as a quoted JSON string, escaped byte for byte as encoding/json escapes it:
// <, > and & as \u003c etc. so the output is safe inside HTML, U+2028 and U+2029 so it is safe
// inside JavaScript, and invalid UTF-8 as U+FFFD so the output is always valid JSON whatever the
// caller handed in. It takes []byte as well as string because converting parser-owned bytes to
// a string would allocate.
func String[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = Escape(dst, s)
	return append(dst, '"')
}

// Escape appends s escaped as String escapes it, without the quotes, so that several pieces can
// be written as one JSON string without joining them first.
func Escape[T ~string | ~[]byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
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
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// decodeRune decodes the first rune of s through a small array, because converting a []byte
// to a string (or back) to reach utf8's functions would allocate.
func decodeRune[T ~string | ~[]byte](s T) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s)
	return utf8.DecodeRune(buf[:n])
}

// Float appends f as a JSON number; NaN and infinities, which JSON cannot hold, become 0. It
// suits values the gateway computed itself, where failing the reply would help no one.
func Float(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// FloatChecked appends f as a JSON number, or returns dst unchanged and ErrNotFinite for NaN and
// infinities. It suits values a caller supplied, which should be rejected rather than
// silently changed.
func FloatChecked(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, ErrNotFinite
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}

// Int appends n.
func Int(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Bool appends true or false.
func Bool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// StringOrNull appends s quoted, or null when ok is false.
func StringOrNull(dst []byte, s string, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return String(dst, s)
}

// Raw appends already-encoded JSON, or null when it is empty.
func Raw(dst []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}
