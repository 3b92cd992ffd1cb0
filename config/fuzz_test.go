package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to the loader: it must answer with a config or an error,
// never a panic, and a config it accepts must validate.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "unknown_key.yaml", "many_errors.yaml", "bad_duration.yaml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("server: {listen: ${L:-127.0.0.1:1}}\nproviders: [{name: m, type: mock}]\nregistry: {sources: [{type: file, path: p}]}\n"))
	env := envOf(map[string]string{"TG_KEY": "k", "OPENAI_API_KEY": "sk"})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw, env)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}
