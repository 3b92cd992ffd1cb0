package translate

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateText(t *testing.T) {
	for _, tc := range []struct {
		body  string
		limit int
		want  string
	}{
		{"", 8, ""},
		{"  \n", 8, ""},
		{" <html>Bad Gateway</html>\n", 64, "<html>Bad Gateway</html>"},
		{"exactly8", 8, "exactly8"},
		{"  exactly8  ", 8, "exactly8"}, // the limit counts the trimmed body
		{"bad\xffutf8", 16, "bad\uFFFDutf8"},
		{"abcdefghij", 4, "abcd…"},
		{"ab    cdef", 4, "ab…"},                   // no white space before the ellipsis
		{"abcé", 4, "abc…"},                        // é would be split: cut before it
		{"ab😀cd", 5, "ab…"},                        // a four-byte rune split after three bytes
		{"ab\x80\x80\x80\x80\x80", 4, "ab\uFFFD…"}, // stray continuation bytes do not move the cut
	} {
		if got := TruncateText([]byte(tc.body), tc.limit); got != tc.want {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", tc.body, tc.limit, got, tc.want)
		}
	}
}

func FuzzTruncateText(f *testing.F) {
	f.Add([]byte(strings.Repeat("é", 300)), 7)
	f.Add([]byte("\xf0\x9f\x98 \xff"), 2)
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		if limit < 0 || limit > 1<<12 {
			return
		}
		got := TruncateText(body, limit)
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) <= limit {
			if want := string(bytes.ToValidUTF8(trimmed, []byte("\uFFFD"))); got != want {
				t.Fatalf("TruncateText(%q, %d) = %q, want the whole body %q", body, limit, got, want)
			}
			return
		}
		text, cut := strings.CutSuffix(got, "…")
		if !cut || !utf8.ValidString(text) || len(text) > 3*limit { // each byte kept: at most one U+FFFD
			t.Fatalf("TruncateText(%q, %d) = %q, not a bounded, marked cut", body, limit, got)
		}
		if utf8.Valid(trimmed) && !strings.HasPrefix(string(trimmed), text) {
			t.Fatalf("TruncateText(%q, %d) = %q, not a prefix of the body", body, limit, got)
		}
	})
}
