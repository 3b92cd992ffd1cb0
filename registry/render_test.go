package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	msgs := []TemplateMessage{
		{Role: "system", Content: "Static text, no placeholders."},
		{Role: "user", Content: "Hi {{name}}, {{ name }} and {{  product }}! {{not closed} {{}} {{ two words }} {x}"},
	}
	out, err := Render(msgs, map[string]string{"name": "A{{product}}", "product": "P", "extra": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Text(); got != "Static text, no placeholders." || out[0].Role != "system" {
		t.Errorf("static message %q", got)
	}
	want := "Hi A{{product}}, A{{product}} and P! {{not closed} {{}} {{ two words }} {x}"
	if got := out[1].Text(); got != want {
		t.Errorf("rendered %q\nwant     %q", got, want)
	}
}

func TestRenderNamesEveryMissingVariableOnce(t *testing.T) {
	msgs := []TemplateMessage{{Role: "user", Content: "{{b}} {{a}} {{b}}"}, {Role: "user", Content: "{{c}} {{a}}"}}
	_, err := Render(msgs, map[string]string{"a": "1"})
	var mv *MissingVariablesError
	if !errors.As(err, &mv) || !reflect.DeepEqual(mv.Names, []string{"b", "c"}) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "b, c") {
		t.Errorf("message %q", err)
	}
}

func TestVariables(t *testing.T) {
	got := Variables([]TemplateMessage{{Content: "{{x}} {{ y }} {{x}}"}, {Content: "{{z_1}}"}})
	if !reflect.DeepEqual(got, []string{"x", "y", "z_1"}) {
		t.Errorf("Variables = %v", got)
	}
}

func TestValidSlug(t *testing.T) {
	for s, ok := range map[string]bool{"welcome-email": true, "a.b_c": true, "v2": true, "": false, "..": false,
		"a/b": false, "a..b": false, ".hidden": false, "a b": false, strings.Repeat("a", 129): false} {
		if ValidSlug(s) != ok {
			t.Errorf("ValidSlug(%q) = %v", s, !ok)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add("Hello {{name}} {{ other }}", "name", "{{other}}")
	f.Add("{{{{a}}}}", "a", "x")
	f.Add("{{", "", "")
	f.Fuzz(func(t *testing.T, content, key, value string) {
		msgs := []TemplateMessage{{Role: "user", Content: content}}
		vars := map[string]string{key: value}
		out, err := Render(msgs, vars)
		names := Variables(msgs)
		if err != nil {
			var mv *MissingVariablesError
			if !errors.As(err, &mv) || len(mv.Names) == 0 {
				t.Fatalf("unexpected error %v", err)
			}
			for _, n := range mv.Names {
				if _, given := vars[n]; given {
					t.Fatalf("%q reported missing but given", n)
				}
			}
			return
		}
		for _, n := range names {
			if _, given := vars[n]; !given {
				t.Fatalf("%q used but not reported missing", n)
			}
		}
		if len(names) == 0 && out[0].Text() != content {
			t.Fatalf("text without placeholders changed: %q -> %q", content, out[0].Text())
		}
	})
}
