package jsonw

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

func TestTrimSpace(t *testing.T) {
	for in, want := range map[string]string{
		"": "", " \t\r\n": "", " {} \n": "{}", "\v{}\f": "\v{}\f", "\u00a0x": "\u00a0x",
	} {
		if got := TrimSpace(in); got != want {
			t.Errorf("TrimSpace(%q) = %q, want %q", in, got, want)
		}
		if got := TrimSpace([]byte(in)); string(got) != want {
			t.Errorf("TrimSpace([]byte %q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsObject(t *testing.T) {
	for raw, want := range map[string]bool{
		`{}`: true, " {\"a\":[1]} \n": true, `{"a":1`: false, `[]`: false, `"{}"`: false,
		``: false, `null`: false, `{} {}`: false, `{}x`: false,
	} {
		if got := IsObject([]byte(raw)); got != want {
			t.Errorf("IsObject(%q) = %v", raw, got)
		}
	}
}

func TestIsNull(t *testing.T) {
	for raw, want := range map[string]bool{"": true, " null\n": true, "{}": false, `"null"`: false, "nul": false} {
		if got := IsNull([]byte(raw)); got != want {
			t.Errorf("IsNull(%q) = %v", raw, got)
		}
	}
}

func TestValidNumberMatchesEncodingJSON(t *testing.T) {
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

// FuzzValidNumber checks validNumber against encoding/json: a JSON text that starts like a
// number and ends in a digit is exactly one number.
func FuzzValidNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5e+3", "01", "1.", "nan", "1 "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b)
		want := n > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') && b[n-1] >= '0' && b[n-1] <= '9' && json.Valid(b)
		if got := validNumber(b); got != want {
			t.Fatalf("validNumber(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func TestValue(t *testing.T) {
	for in, want := range map[string]string{
		` { "b" : [ 1 , -2.5e3 , true , false , null , { } , [ ] ] , "a" : "x" } `: `{"b":[1,-2.5e3,true,false,null,{},[]],"a":"x"}`,
		`{"s":"\u0001<\u2028>","\u00e9":"\/"}`:                                     `{"s":"\u0001\u003c\u2028\u003e","é":"/"}`,
		`"top"`:                                                                    `"top"`,
	} {
		got, err := Value([]byte("x"), fastjson.MustParse(in))
		if err != nil || string(got) != "x"+want {
			t.Errorf("Value(%s) = %s, %v; want x%s", in, got, err, want)
		}
	}
	for _, in := range []string{`{"a":nan}`, `[1,-inf]`, `{"x":{"y":1.}}`} {
		v, err := fastjson.Parse(in)
		if err != nil {
			t.Fatalf("fastjson no longer parses %s: %v", in, err)
		}
		if got, err := Value([]byte("x"), v); !errors.Is(err, ErrInvalidNumber) || string(got) != "x" {
			t.Errorf("Value(%s) = %s, %v; want dst unchanged and ErrInvalidNumber", in, got, err)
		}
	}
}

func TestValueWithout(t *testing.T) {
	v := fastjson.MustParse(`{"$schema":"s","type":"object","properties":{"$schema":{}}}`)
	got, err := ValueWithout(nil, v, "$schema")
	if want := `{"type":"object","properties":{"$schema":{}}}`; err != nil || string(got) != want {
		t.Errorf("ValueWithout = %s, %v; want %s", got, err, want)
	}
}

// FuzzValue checks that whatever fastjson parses, Value either rejects or writes valid JSON,
// and that it keeps the meaning of input encoding/json accepts too. The one known difference
// is left out: fastjson keeps a lone surrogate escape such as \ud800 as its six characters of
// text, where encoding/json decodes it to U+FFFD.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,true,null,"x\u0000"]}`, `{"a":nan}`, `"\ud800"`, `[1.]`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := fastjson.ParseBytes(in)
		if err != nil {
			return
		}
		out, err := Value(nil, v)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) || len(out) != 0 {
				t.Fatalf("Value(%q) = %q, %v", in, out, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Value(%q) = %q, not valid JSON", in, out)
		}
		var want, got any
		if json.Unmarshal(in, &want) != nil || bytes.Contains(bytes.ToLower(in), []byte(`\ud`)) {
			return
		}
		if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Value(%q) = %q, which means %v, want %v", in, out, got, want)
		}
	})
}
