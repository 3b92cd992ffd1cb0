package store

import (
	"errors"
	"testing"
	"time"
)

// FuzzCursor feeds List's cursor parser what a client may send: it never panics, refuses
// with ErrBadCursor, and what it accepts round-trips through the encoder.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(position{base, "sp_0123456789abcdef"}))
	f.Add(encodeCursor(position{time.UnixMicro(0).UTC(), "x"}))
	f.Add("v1.")
	f.Add("v1.LTEuc3A")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("%q: %v does not wrap ErrBadCursor", s, err)
			}
			return
		}
		again, err := decodeCursor(encodeCursor(p))
		if err != nil || again.compare(p) != 0 {
			t.Fatalf("%q: decoded %v, re-encoded decodes to %v (%v)", s, p, again, err)
		}
		if _, err := prepare(Filter{Cursor: s}); err != nil {
			t.Fatalf("%q: decodes but prepare fails: %v", s, err)
		}
	})
}
