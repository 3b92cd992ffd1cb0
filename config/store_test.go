package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreDefaultsToMemory(t *testing.T) {
	c, err := Parse([]byte("registry: {sources: [{type: file, path: p}]}\nproviders: [{name: m, type: mock}]\n"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != defaultStore() || c.Store.Type != "memory" || c.Store.MaxSpans != 10000 || c.Store.Retention.D() != 720*time.Hour {
		t.Errorf("store defaults %+v", c.Store)
	}
}

func TestStoreSQLitePathIsRelativeToTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("testdata", "store_sqlite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tracegate.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Store
	if s.Type != "sqlite" || s.Path != filepath.Join(dir, "data", "spans.db") || s.Retention.D() != 48*time.Hour || s.QueueSize != 100 {
		t.Errorf("store %+v", s)
	}
	if s.MaxSpans != defaultStoreMaxSpans {
		t.Errorf("an omitted key lost its default: %+v", s)
	}
}

func TestStorePostgresNeedsDSN(t *testing.T) {
	c, err := loadTestdata(t, "store_postgres.yaml", map[string]string{"DATABASE_URL": "postgres://tg@127.0.0.1:5432/tg"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != "postgres://tg@127.0.0.1:5432/tg" {
		t.Errorf("dsn %q", c.Store.DSN)
	}
	_, err = loadTestdata(t, "store_postgres.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "store.dsn") {
		t.Errorf("postgres without a dsn: %v", err)
	}
}

func TestStoreBadKeysAreReportedTogether(t *testing.T) {
	_, err := loadTestdata(t, "store_bad.yaml", nil)
	if err == nil {
		t.Fatal("bad store keys accepted")
	}
	for _, want := range []string{"store.max_spans -5", "store.retention", "store.queue_size 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if ve, ok := err.(*ValidationError); !ok || len(ve.Errs) != 3 {
		t.Errorf("want 3 problems in one ValidationError, got %v", err)
	}
	if _, err := Parse([]byte("registry: {sources: [{type: file, path: p}]}\nproviders: [{name: m, type: mock}]\nstore: {type: redis}\n"), envOf(nil)); err == nil ||
		!strings.Contains(err.Error(), `store.type "redis"`) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := loadTestdata(t, "store_unknown_key.yaml", nil); err == nil || !strings.Contains(err.Error(), "max_span") {
		t.Errorf("unknown store key: %v", err)
	}
}
