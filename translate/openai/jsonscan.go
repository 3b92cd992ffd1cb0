package openai

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tracegate/tracegate/internal/intern"
)

// The passthrough path must find a few top-level fields of bodies it forwards untouched, and
// splice some of them, without decoding the rest. objectScanner walks one JSON object's
// members and reports each value's byte span. It checks structure (strings, nesting, commas,
// colons) but not the grammar of numbers and literals: the upstream validates the body anyway.

// maxScanDepth bounds nesting so a hostile body cannot grow the bracket stack without limit.
const maxScanDepth = 1000

// member is one key/value pair of a scanned object. key is the raw key between its quotes;
// value is b[start:end].
type member struct {
	key        []byte
	start, end int
}

type objectScanner struct {
	b      []byte
	pos    int
	first  bool
	failed bool
	// open and close are the offsets of the object's braces; close is valid once next has
	// returned false without failing.
	open, close int
}

// newObjectScanner starts scanning the object whose '{' is the first non-space byte of b at or
// after from. ok is false when there is none.
func newObjectScanner(b []byte, from int) (objectScanner, bool) {
	i := skipSpace(b, from)
	if i >= len(b) || b[i] != '{' {
		return objectScanner{}, false
	}
	return objectScanner{b: b, pos: i + 1, first: true, open: i}, true
}

// next returns the next member; false at the end of the object or on malformed input
// (s.failed tells which).
func (s *objectScanner) next() (member, bool) {
	if s.failed || s.pos < 0 {
		return member{}, false
	}
	b := s.b
	i := skipSpace(b, s.pos)
	if i >= len(b) {
		return s.fail()
	}
	if !s.first {
		switch b[i] {
		case '}':
			s.close, s.pos = i, -1
			return member{}, false
		case ',':
			i = skipSpace(b, i+1)
		default:
			return s.fail()
		}
	} else if b[i] == '}' {
		s.close, s.pos = i, -1
		return member{}, false
	}
	s.first = false
	if i >= len(b) || b[i] != '"' {
		return s.fail()
	}
	keyEnd := skipString(b, i)
	if keyEnd < 0 {
		return s.fail()
	}
	m := member{key: b[i+1 : keyEnd-1]}
	i = skipSpace(b, keyEnd)
	if i >= len(b) || b[i] != ':' {
		return s.fail()
	}
	m.start = skipSpace(b, i+1)
	m.end = skipValue(b, m.start)
	if m.end < 0 {
		return s.fail()
	}
	s.pos = m.end
	return m, true
}

func (s *objectScanner) fail() (member, bool) {
	s.failed = true
	return member{}, false
}

// finish reports whether the object ended well and only whitespace follows it.
func (s *objectScanner) finish() bool {
	for !s.failed && s.pos >= 0 {
		s.next()
	}
	return !s.failed && skipSpace(s.b, s.close+1) == len(s.b)
}

// keyIs reports whether a raw key equals name, unescaping only when the key has escapes.
func keyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	s, ok := unquote(raw)
	return ok && s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the offset just past the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// skipValue returns the offset just past the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipContainer(b, i)
	}
	j := i
	for j < len(b) && isScalarByte(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// skipContainer returns the offset just past the object or array starting at b[i], checking
// that brackets match.
func skipContainer(b []byte, i int) int {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			end := skipString(b, j)
			if end < 0 {
				return -1
			}
			j = end - 1
		case '{', '[':
			if len(stack) >= maxScanDepth {
				return -1
			}
			stack = append(stack, c)
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return -1
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// unquote decodes the body of a JSON string literal (without its quotes).
// modelNames interns model names (and finish reasons) read from bodies: a deployment sees a
// handful, and each request and reply would otherwise make its own copy.
var modelNames = intern.New(1024)

// unquoteModel is unquote for a model name.
func unquoteModel(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return modelNames.Bytes(raw), true
	}
	return unquote(raw)
}

func unquote(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(raw, i+3); ok && i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					}
				}
			}
			out = utf8.AppendRune(out, r) // a lone surrogate becomes U+FFFD
		default:
			return "", false
		}
	}
	return string(out), true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
