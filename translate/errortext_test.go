package translate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateText(t *testing.T) {
	for _, tc := range []struct {
		body string
		max  int
		want string
	}{
		{"", 8, ""},
		{"  \n", 8, ""},
		{" <html>Bad Gateway</html>\n", 64, "<html>Bad Gateway</html>"},
		{"exactly8", 8, "exactly8"},
		{"  exactly8  ", 8, "exactly8"}, // the limit counts the trimmed body
		{"bad\xffutf8", 16, "bad\uFFFDutf8"},
		{"abcdefghij", 4, "abcd…"},
		{"ab    cdef", 4, "ab…"},                         // no white space before the ellipsis
		{"abcé", 4, "abc…"},                              // é would be split: cut before it
		{"ab😀cd", 5, "ab…"},                              // a four-byte rune split after three bytes
		{"ab\x80\x80\x80\x80\x80", 4, "ab\uFFFD\uFFFD…"}, // stray continuation bytes do not move the cut
	} {
		if got := TruncateText([]byte(tc.body), tc.max); got != tc.want {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", tc.body, tc.max, got, tc.want)
		}
	}
}

func FuzzTruncateText(f *testing.F) {
	f.Add([]byte(strings.Repeat("é", 300)), 7)
	f.Add([]byte("\xf0\x9f\x98 \xff"), 2)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		if max < 0 || max > 1<<12 {
			return
		}
		got := TruncateText(body, max)
		if !utf8.ValidString(got) {
			t.Fatalf("TruncateText(%q, %d) = %q, not valid UTF-8", body, max, got)
		}
		text, cut := strings.CutSuffix(got, "…")
		// Each kept byte becomes at most one U+FFFD (3 bytes).
		if len(text) > 3*max {
			t.Fatalf("TruncateText(%q, %d) = %q, too long", body, max, got)
		}
		if !cut && text != strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD")) && len(strings.TrimSpace(string(body))) <= max {
			t.Fatalf("TruncateText(%q, %d) = %q, changed a short body", body, max, got)
		}
		if utf8.Valid(body) && !strings.Contains(string(body), "…") && !strings.HasPrefix(strings.TrimSpace(string(body)), text) {
			t.Fatalf("TruncateText(%q, %d) = %q, not a prefix of the body", body, max, got)
		}
	})
}
