package config

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"*", "", true}, {"*", "openai/gpt-4o", true}, {"gpt-*", "gpt-4o", true}, {"gpt-*", "gpt", false},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"*-mini", "gpt-4o-mini", true}, {"x*", "y", false}, {"**x", "abx", true},
		{"gpt-[45]*", "gpt-4o", true}, {"gpt-[45]*", "gpt-5", true}, {"gpt-[45]*", "gpt-3.5-turbo", false},
		{"o[0-9]*", "o3", true}, {"o[0-9]*", "o4-mini", true}, {"o[0-9]*", "omni-moderation-latest", false},
		{"o[!0-9]*", "omni", true}, {"o[^0-9]*", "o1", false}, {"[]a]", "]", true}, {"[]a]", "a", true},
		{"[a-]", "-", true}, {"[-a]", "-", true}, {"[a-c]", "d", false}, {`a\*`, "a*", true}, {`a\*`, "ab", false},
		{`[\]]`, "]", true}, {"?", "é", true}, {"[é-ü]", "ö", true}, {"text-embedding-0[0-9][0-9]", "text-embedding-004", true},
		{"text-embedding-0[0-9][0-9]", "text-embedding-3-small", false},
	} {
		g, err := CompileGlob(c.p)
		if err != nil {
			t.Errorf("CompileGlob(%q): %v", c.p, err)
			continue
		}
		if got := g.Match(c.s); got != c.ok {
			t.Errorf("%q.Match(%q) = %v", c.p, c.s, got)
		}
	}
}

func TestCompileGlobRejectsWhatItCannotMatch(t *testing.T) {
	for _, p := range []string{"", "gpt-[45", "[", "[]", "[!]", `a\`, "[z-a]", `[a\`, "\xff", strings.Repeat("a", maxGlobLen+1)} {
		if _, err := CompileGlob(p); !errors.Is(err, errGlob) {
			t.Errorf("CompileGlob(%q) = %v, want an error", p, err)
		}
	}
}

func TestLiteralGlobs(t *testing.T) {
	for p, want := range map[string]bool{"gpt-4o": true, "gpt-*": false, "o[13]": false, `a\-b`: false, "a?": false} {
		g, err := CompileGlob(p)
		if err != nil {
			t.Fatal(err)
		}
		if g.Literal() != want {
			t.Errorf("%q.Literal() = %v", p, !want)
		}
	}
}

// The validator and the router both go through CompileGlob; this checks the validator too
// rejects exactly what CompileGlob rejects.
func TestValidateUsesCompileGlob(t *testing.T) {
	for _, p := range []string{"gpt-[45", "o[0-9]*", "[z-a]"} {
		c := Default()
		c.Providers = []Provider{{Name: "m", Type: "mock"}}
		c.Routes = []Route{{Match: p, Provider: "m"}}
		_, compileErr := CompileGlob(p)
		err := c.Validate()
		rejected := err != nil && strings.Contains(err.Error(), "routes[0].match")
		if rejected != (compileErr != nil) {
			t.Errorf("route %q: Validate = %v, CompileGlob = %v", p, err, compileErr)
		}
	}
}

// FuzzGlobMatch checks the glob against its own laws and, where its syntax and path.Match's
// agree (no '/', no '!' negation, no '-' or ']' path.Match reads differently), against
// path.Match.
func FuzzGlobMatch(f *testing.F) {
	for _, s := range [][2]string{{"a*b?c", "axbyc"}, {"gpt-[45]*", "gpt-4o"}, {"o[0-9]*", "o3"}, {"[!a-c]x", "dx"},
		{`\[a]`, "[a]"}, {"*[é]?", "xéy"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		g, err := CompileGlob(p)
		if err != nil {
			return
		}
		got := g.Match(s)
		if g.Literal() && got != (p == s) {
			t.Fatalf("%q.Match(%q) = %v: a literal pattern is equality", p, s, got)
		}
		if p == "*" && !got {
			t.Fatalf("* must match %q", s)
		}
		if strings.Trim(p, "*") == "" && !g.Match("") {
			t.Fatalf("%q must match the empty name", p)
		}
		if strings.ContainsAny(p+s, "/!") || strings.Contains(p, "[^") || strings.Contains(p, "[-") ||
			strings.Contains(p, "-]") || strings.Contains(p, "[]") || strings.Contains(p, "[\\") {
			return
		}
		want, err := path.Match(p, s)
		if err == nil && want != got {
			t.Fatalf("%q.Match(%q) = %v, path.Match says %v", p, s, got, want)
		}
	})
}
