package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/registry"
)

func TestNewRegistryChainsFileAndHTTPSources(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path != "/api/v1/prompts/remote" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"slug":"remote","currentVersion":2,"model":"mock-1","content":[{"role":"user","content":"from upstream"}]}`))
	}))
	defer up.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local.yaml"),
		[]byte("versions: [{version: 1, model: mock-1, messages: [{role: user, content: from file}]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DIR": dir, "UP": up.URL, "REGISTRY_KEY": "sk-registry-key"}
	cfg, err := config.Parse([]byte(`
registry:
  sources:
    - {type: file, path: "${DIR}"}
    - {type: http, base_url: "${UP}", api_key: "${REGISTRY_KEY}", timeout: 2s}
  cache: {ttl: 60s, stale_if_error: 1h, negative_ttl: 5s, max_entries: 10}
providers: [{name: mock, type: mock}]
routes: [{match: "mock-*", provider: mock}]
spans: {exporter: none}
`), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	reg, err := newRegistry(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for slug, want := range map[string]string{"local": "from file", "remote": "from upstream"} {
		res, err := reg.Resolve(ctx, slug, 0, "sk-caller")
		if err != nil {
			t.Fatalf("%s: %v", slug, err)
		}
		if got := res.Version.Messages[0].Content; got != want {
			t.Errorf("%s: %q, want %q", slug, got, want)
		}
	}
	if _, err := reg.Resolve(ctx, "missing", 0, ""); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range auth {
		if a != "Bearer sk-registry-key" {
			t.Errorf("upstream saw Authorization %q, want the configured key only", a)
		}
	}
	if len(auth) != 2 {
		t.Errorf("upstream asked %d times, want 2 (remote, missing)", len(auth))
	}
}

func TestNewRegistryRejectsUnknownSourceTypes(t *testing.T) {
	cfg := config.Default()
	cfg.Registry.Sources = []config.Source{{Type: "s3"}}
	if _, err := newRegistry(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("type s3 accepted")
	}
}
