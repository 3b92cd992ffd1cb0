package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The prompts API as main wires it: registry.sources[].writable turns writes on, and each
// version's provider comes from where its model routes.
func TestWritableSourceAndProvidersFromRoutes(t *testing.T) {
	up := newFakeOpenAI(t, false)
	g := startGateway(t, strings.Replace(baseConfig, "{type: file, path: ./prompts}", "{type: file, path: ./prompts, writable: true}", 1), up)
	status, _, raw := g.request(http.MethodPost, "/api/v1/prompts",
		`{"name":"Made here","model":"mock-1","content":[{"id":"m1","role":"user","content":"Hi {{who}}"}]}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(g.configPath), "prompts", "made-here.yaml")); err != nil {
		t.Fatalf("not written next to the config: %v", err)
	}
	status, out := g.run("made-here", `{"variables":{"who":"Ada"}}`, nil)
	if status != http.StatusOK || out["promptVersion"] != float64(1) {
		t.Fatalf("run of the created prompt: %d %v", status, out)
	}
	for slug, want := range map[string]string{"made-here": "openai", "greet": "openai"} {
		status, _, raw = g.request(http.MethodGet, "/api/v1/prompts/"+slug, "", nil)
		var p struct {
			Versions []struct{ Provider string } `json:"versions"`
		}
		if err := json.Unmarshal(raw, &p); err != nil || status != http.StatusOK || len(p.Versions) == 0 || p.Versions[0].Provider != want {
			t.Errorf("%s: %d %s", slug, status, raw)
		}
	}

	ro := startGateway(t, baseConfig, up)
	status, _, raw = ro.request(http.MethodDelete, "/api/v1/prompts/greet", "", nil)
	if status != http.StatusMethodNotAllowed || !strings.Contains(string(raw), "writable: true") {
		t.Fatalf("delete without a writable source: %d %s", status, raw)
	}
}
