package jsonscan

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth bounds nesting so a hostile body cannot grow the bracket stack without limit.
const MaxDepth = 1000

// Member is one key/value pair of a scanned object. Key is the raw key between its quotes;
// the value is b[Start:End].
type Member struct {
	Key        []byte
	Start, End int
}

// Object walks one JSON object's members (NewObject).
type Object struct {
	b      []byte
	pos    int
	first  bool
	failed bool
	// open and close are the offsets of the object's braces; close is valid once next has
	// returned false without failing.
	open, close int
}

// NewObject starts scanning the object whose '{' is the first non-space byte of b at or
// after from. ok is false when there is none.
func NewObject(b []byte, from int) (Object, bool) {
	i := SkipSpace(b, from)
	if i >= len(b) || b[i] != '{' {
		return Object{}, false
	}
	return Object{b: b, pos: i + 1, first: true, open: i}, true
}

// Next returns the next member; false at the end of the object or on malformed input
// (Failed tells which).
func (s *Object) Next() (Member, bool) {
	if s.failed || s.pos < 0 {
		return Member{}, false
	}
	b := s.b
	i := SkipSpace(b, s.pos)
	if i >= len(b) {
		return s.fail()
	}
	if !s.first {
		switch b[i] {
		case '}':
			s.close, s.pos = i, -1
			return Member{}, false
		case ',':
			i = SkipSpace(b, i+1)
		default:
			return s.fail()
		}
	} else if b[i] == '}' {
		s.close, s.pos = i, -1
		return Member{}, false
	}
	s.first = false
	if i >= len(b) || b[i] != '"' {
		return s.fail()
	}
	keyEnd := SkipString(b, i)
	if keyEnd < 0 {
		return s.fail()
	}
	m := Member{Key: b[i+1 : keyEnd-1]}
	i = SkipSpace(b, keyEnd)
	if i >= len(b) || b[i] != ':' {
		return s.fail()
	}
	m.Start = SkipSpace(b, i+1)
	m.End = SkipValue(b, m.Start)
	if m.End < 0 {
		return s.fail()
	}
	s.pos = m.End
	return m, true
}

// Failed reports whether the object was malformed.
func (s *Object) Failed() bool { return s.failed }

// Open is the offset of the object's '{'; Close of its '}', valid once Next has returned
// false without failing.
func (s *Object) Open() int  { return s.open }
func (s *Object) Close() int { return s.close }

func (s *Object) fail() (Member, bool) {
	s.failed = true
	return Member{}, false
}

// Finish reports whether the object ended well and only whitespace follows it.
func (s *Object) Finish() bool {
	for !s.failed && s.pos >= 0 {
		s.Next()
	}
	return !s.failed && SkipSpace(s.b, s.close+1) == len(s.b)
}

// KeyIs reports whether a raw key equals name, unescaping only when the key has escapes.
func KeyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	s, ok := Unquote(raw)
	return ok && s == name
}

// SkipSpace returns the offset of the first non-space byte of b at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// SkipString returns the offset just past the string starting at b[i] == '"', or -1.
func SkipString(b []byte, i int) int {
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

// SkipValue returns the offset just past the value starting at b[i], or -1.
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
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
			end := SkipString(b, j)
			if end < 0 {
				return -1
			}
			j = end - 1
		case '{', '[':
			if len(stack) >= MaxDepth {
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

// Unquote decodes the body of a JSON string literal (without its quotes); false when it is
// not a valid one. A lone surrogate becomes U+FFFD.
func Unquote(raw []byte) (string, bool) {
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
	// out is this call's own and never written again: the string can be its bytes, one
	// allocation instead of two.
	return unsafe.String(unsafe.SliceData(out), len(out)), true
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

// Seen records which of a scan's members (numbered by the caller, 0 to 63) it has met, so
// that a member given twice is caught. Parsers disagree on a repeated key (the first wins in
// some, the last in others), so a gateway that routes and prices by a member must refuse a
// body that names it twice: otherwise what it routed and priced and what the upstream runs
// could differ.
type Seen uint64

// First marks member i met and reports whether it had not been met before.
func (s *Seen) First(i uint) bool {
	bit := Seen(1) << i
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}
