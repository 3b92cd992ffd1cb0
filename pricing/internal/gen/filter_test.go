package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The embedded table must be exactly what this generator makes: regenerating it from itself
// changes nothing, so hand edits and a stale generator both show up here.
func TestEmbeddedTableIsGenerated(t *testing.T) {
	table, err := os.ReadFile(filepath.Join("..", "..", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	again, kept, err := filter(table)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, table) {
		t.Fatal("regenerating data.json from itself changes it: run go generate (see pricing/doc.go)")
	}
	if kept < 2000 {
		t.Fatalf("data.json holds %d models", kept)
	}
}

// A verbatim excerpt of the upstream file yields the very lines of data.json for its models.
func TestFilterUpstreamExcerpt(t *testing.T) {
	upstream, err := os.ReadFile(filepath.Join("..", "..", "testdata", "model_prices_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join("..", "..", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := filter(upstream)
	if err != nil {
		t.Fatal(err)
	}
	embedded := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(table), "\n"), "\n") {
		embedded[strings.TrimSuffix(line, ",")] = true
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	models := map[string]bool{}
	for _, line := range lines[1 : len(lines)-1] {
		line = strings.TrimSuffix(line, ",")
		models[line[:strings.Index(line, `": `)+1]] = true
		if !embedded[line] {
			t.Errorf("generated line is not in data.json: %s", line)
		}
	}
	// Embedding models are kept too (pricing.Table.EmbeddingCost prices them apart from chat).
	for _, want := range []string{`"gpt-4o"`, `"claude-sonnet-4-5"`, `"gemini/gemini-2.5-pro"`, `"ft:gpt-4o-mini-2024-07-18"`,
		`"text-embedding-3-small"`, `"gemini/gemini-1.5-flash"`} {
		if !models[want] {
			t.Errorf("%s left out", want)
		}
	}
	for _, dropped := range []string{`"sample_spec"`, `"fallback_generalizations"`,
		`"dall-e-3"`, `"gemini/gemini-exp-1206"`, `"fireworks-ai-default"`} {
		if models[dropped] {
			t.Errorf("%s kept", dropped)
		}
	}
	if strings.Contains(string(got), "supports_") || strings.Contains(string(got), "_priority") {
		t.Error("non-price or service-tier keys kept")
	}
}

func TestFilterRejectsBadInput(t *testing.T) {
	for _, bad := range []string{``, `[1]`, `{"a": }`} {
		if _, _, err := filter([]byte(bad)); err == nil {
			t.Errorf("filter(%q) accepted", bad)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	out := filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte(`{"m": {"input_cost_per_token": 1e-06, "mode": "chat", "max_tokens": 5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n\"m\": {\"input_cost_per_token\": 1e-06, \"mode\": \"chat\"}\n}\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := run("", out); err == nil {
		t.Error("run without input accepted")
	}
	if err := run(filepath.Join(dir, "missing.json"), out); err == nil {
		t.Error("run with a missing input accepted")
	}
}

func FuzzFilter(f *testing.F) {
	f.Add([]byte(`{"m": {"input_cost_per_token": 1e-06, "mode": "chat"}}`))
	f.Add([]byte(`{"m": {"input_cost_per_token": "x", "output_cost_per_token": 1, "mode": "responses"}, "n": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := filter(data)
		if err != nil {
			return
		}
		// Whatever it accepts, its output is a fixed point.
		again, _, err := filter(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("output is not stable: %v\n%s\n%s", err, out, again)
		}
	})
}
