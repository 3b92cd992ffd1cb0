package registry

import (
	"testing"
)

// FuzzDecodePrompt feeds arbitrary upstream bodies to the decoder: it must never panic, and
// whatever it accepts must be runnable.
func FuzzDecodePrompt(f *testing.F) {
	for _, seed := range []string{
		versionedPrompt,
		promptWith("welcome", "Hi {{name}}"),
		`{"slug":"welcome","currentVersion":3,"model":"gpt-4o","content":[{"role":"user","content":"x"}]}`,
		`{"slug":"welcome","content":[{"role":"system","content":"s"}],"tools":[{"name":"t","parameters":{"type":"object"}}],"responseFormat":{"type":"json","schema":{}}}`,
		`{"slug":"welcome","versions":[{"version":1,"messages":[{"role":"user","content":"x"}]}],"content":[{"role":"user","content":"y"}]}`,
		`{"slug":"welcome","currentVersion":-1,"content":[{"role":"user","content":"x"}]}`,
		`null`, `[]`, `{}`, `"x"`, `{"versions":null}`, `{"slug":"welcome","versions":[{"version":1e99}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePrompt(body, "welcome")
		if err != nil {
			if p != nil {
				t.Fatal("decodePrompt returned a prompt with an error")
			}
			return
		}
		if p.Slug != "welcome" {
			t.Fatalf("accepted a prompt for slug %q", p.Slug)
		}
		v, ok := p.Version(0)
		if !ok {
			t.Fatalf("accepted a prompt without its current version %d", p.CurrentVersion)
		}
		if v.Version <= 0 || len(v.Messages) == 0 {
			t.Fatalf("accepted an unusable current version %+v", v)
		}
	})
}

// FuzzDecodePromptList: the list decoder must never panic and never return an unusable slug.
func FuzzDecodePromptList(f *testing.F) {
	for _, seed := range []string{
		`{"prompts":[{"id":"1","slug":"a","name":"A","currentVersion":2}]}`,
		`{"prompts":[{"slug":"../x"},{"slug":""}]}`,
		`{"prompts":null}`, `{}`, `[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		list, err := decodePromptList(body)
		if err != nil {
			return
		}
		for _, p := range list {
			if !ValidSlug(p.Slug) {
				t.Fatalf("list kept slug %q", p.Slug)
			}
		}
	})
}
