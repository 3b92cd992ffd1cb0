package jsonw

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// stringCases covers each escaping rule encoding/json applies, which String must match byte
// for byte.
var stringCases = []string{
	"", "plain", `q"uote\back/slash`, "nl\n\r\t\b\f", "\x00\x01\x1f\x7f", "<a>&amp;</script>",
	"héllo ✓ 中", "emoji 😀", "bad\xffutf8\xc3", "\xed\xa0\x80 surrogate", "\u2028\u2029",
}

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range stringCases {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
		if got := String([]byte("x"), []byte(s)); string(got) != "x"+string(want) {
			t.Errorf("String([]byte %q) = %s, want x%s", s, got, want)
		}
	}
}

func TestEscapeJoinsPieces(t *testing.T) {
	pieces := []string{"a<", "\"b\n", "é\xff", "\u2028"}
	dst := append([]byte(nil), '"')
	for _, p := range pieces {
		dst = Escape(dst, p)
	}
	dst = append(dst, '"')
	if want := String(nil, strings.Join(pieces, "")); string(dst) != string(want) {
		t.Errorf("Escape pieces = %s, want %s", dst, want)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
		if got := String(nil, []byte(s)); string(got) != string(want) {
			t.Fatalf("String([]byte %q) = %s, want %s", s, got, want)
		}
	})
}

func TestFloat(t *testing.T) {
	for _, f := range []float64{0, 1, 0.000935, 1e-12, 123456789.5, -2.5, 1e21} {
		var back float64
		if err := json.Unmarshal(Float(nil, f), &back); err != nil || back != f {
			t.Errorf("Float(%v) round trip = %v, %v", f, back, err)
		}
		if got, err := FloatChecked([]byte("x"), f); err != nil || string(got) != "x"+string(Float(nil, f)) {
			t.Errorf("FloatChecked(%v) = %s, %v", f, got, err)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(Float(nil, f)); got != "0" {
			t.Errorf("Float(%v) = %s, want 0", f, got)
		}
		if got, err := FloatChecked([]byte("x"), f); !errors.Is(err, ErrNotFinite) || string(got) != "x" {
			t.Errorf("FloatChecked(%v) = %s, %v", f, got, err)
		}
	}
}

func TestScalars(t *testing.T) {
	var b []byte
	b = Int(b, -42)
	b = append(b, ',')
	b = Bool(b, true)
	b = append(b, ',')
	b = StringOrNull(b, "x", false)
	b = append(b, ',')
	b = StringOrNull(b, "x", true)
	b = append(b, ',')
	b = Raw(b, nil)
	b = append(b, ',')
	b = Raw(b, []byte(`{"a":1}`))
	if want := `-42,true,null,"x",null,{"a":1}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
