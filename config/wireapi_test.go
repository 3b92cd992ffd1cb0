package config

import (
	"strings"
	"testing"
)

func TestWireAPI(t *testing.T) {
	base := `
registry: {sources: [{type: file, path: .}]}
providers:
  - {name: p, type: %TYPE%, base_url: "https://example.com", api_key: k%WIRE%}
routes: [{match: "*", provider: p}]
`
	for _, tc := range []struct {
		typ, wire string
		serves    bool
		err       string
	}{
		{"openai", "", true, ""},
		{"openai", "responses", true, ""},
		{"openai", "chat", false, ""},
		{"anthropic", "", false, ""},
		{"anthropic", "chat", false, `"chat" applies to types openai and azure only`},
		{"azure", "", true, ""},
		{"azure, api_version: preview", "", true, ""},
		{"azure, api_version: 2024-10-21", "", false, ""},
		{"azure", "chat", false, ""},
		{"azure, api_version: 2024-10-21", "responses", false, `"responses": Azure has the Responses API on api_version v1 (or preview) only, not 2024-10-21`},
		{"openai", "completions", false, `"completions": want responses or chat`},
	} {
		yaml := strings.ReplaceAll(base, "%TYPE%", tc.typ)
		wire := ""
		if tc.wire != "" {
			wire = ", wire_api: " + tc.wire
		}
		yaml = strings.ReplaceAll(yaml, "%WIRE%", wire)
		cfg, err := Parse([]byte(yaml), func(string) (string, bool) { return "", false })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), "providers[0] (p).wire_api: "+tc.err) {
				t.Errorf("%s/%s: got %v, want an error about %q", tc.typ, tc.wire, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.typ, tc.wire, err)
		}
		if serves, _ := cfg.Providers[0].ServesResponses(); serves != tc.serves {
			t.Errorf("%s/%s: serves responses %v, want %v", tc.typ, tc.wire, serves, tc.serves)
		}
	}
}
