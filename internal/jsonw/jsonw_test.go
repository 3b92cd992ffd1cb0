package jsonw

import (
	"encoding/json"
	"math"
	"testing"
)

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "nl\n\r\t", "\x00\x1f", "<a>&", "héllo ✓", "bad\xffutf8", "\u2028\u2029", "emoji 😀"} {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestFloat(t *testing.T) {
	for _, f := range []float64{0, 1, 0.000935, 1e-12, 123456789.5, -2.5} {
		var back float64
		if err := json.Unmarshal(Float(nil, f), &back); err != nil || back != f {
			t.Errorf("Float(%v) round trip = %v, %v", f, back, err)
		}
	}
	if got := string(Float(nil, math.NaN())); got != "0" {
		t.Errorf("NaN = %s", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add("hello")
	f.Add("\xff\x00\"")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(String(nil, s), &back); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
	})
}
