package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

func TestAppendStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x01\x1f\t\r\n", "é中🙂", "\u2028\u2029", "</script>"} {
		out := appendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Errorf("appendString(%q) = %s -> %q, %v", s, out, back, err)
		}
	}
	out := appendString(nil, "ok\xffok\xc3")
	var back string
	if err := json.Unmarshal(out, &back); err != nil || back != "ok\uFFFDok\uFFFD" {
		t.Errorf("invalid UTF-8: %s -> %q, %v", out, back, err)
	}
}

func TestAppendValueAlwaysValid(t *testing.T) {
	// fastjson accepts these numbers and strings; appendValue must still write valid JSON.
	for _, in := range []string{`{"a":nan,"b":-inf,"c":1.5e3,"d":"\u0000\ud800","e":[true,false,null,{}],"\u0001":0}`, `{"x":1.}`} {
		v, err := fastjson.Parse(in)
		if err != nil {
			t.Fatalf("parse %s: %v", in, err)
		}
		out := appendValue(nil, v)
		if !json.Valid(out) {
			t.Errorf("appendValue(%s) = %s, not valid JSON", in, out)
		}
	}
}

func TestIsJSONNumber(t *testing.T) {
	for _, ok := range []string{"0", "-0", "12", "1.5", "1e9", "-1.25E-3"} {
		if !isJSONNumber([]byte(ok)) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "-", "01", "1.", ".5", "1e", "nan", "inf", "+1", "1.2.3"} {
		if isJSONNumber([]byte(bad)) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello \"world\"\n")
	f.Add("\xff\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, out, err)
		}
		if want := replaceInvalidBytes(s); back != want {
			t.Fatalf("round trip %q -> %q, want %q", s, back, want)
		}
	})
}

// replaceInvalidBytes is the reference for appendString's repair: each byte that does not
// start a valid UTF-8 sequence becomes one U+FFFD.
func replaceInvalidBytes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
