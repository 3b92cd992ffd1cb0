package gemini

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"":                 `""`,
		"plain":            `"plain"`,
		"q\"b\\s/":         `"q\"b\\s/"`,
		"\n\r\t\x00\x1f":   `"\n\r\t\u0000\u001f"`,
		"é😀":               `"é😀"`,
		"bad\xffutf8\xc3":  `"bad\ufffdutf8\ufffd"`,
		"\u2028<tag>&amp;": "\"\u2028<tag>&amp;\"",
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
		if got := string(appendString([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("appendString([]byte %q) = %s", in, got)
		}
	}
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "-1.5e10": true, "2E-3": true, "1e+2": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "1-2": false,
		"nan": false, "inf": false, "+1": false, "0x10": false, "1.2.3": false,
	} {
		if got := validNumber([]byte(s)); got != want {
			t.Errorf("validNumber(%q) = %v", s, got)
		}
		if want != json.Valid([]byte(s)) {
			t.Errorf("test table disagrees with encoding/json on %q", s)
		}
	}
}
