package registry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// touch moves a file's modification time forward, so that a rewrite within the file system's
// timestamp granularity is still seen as a change.
func touch(t *testing.T, path string, by time.Duration) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mt := info.ModTime().Add(by)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const fileV1 = "slug: mail\nversions:\n  - {version: 1, model: m, messages: [{role: user, content: first}]}\n"
const fileV2 = "slug: mail\ncurrentVersion: 2\nversions:\n" +
	"  - {version: 1, model: m, messages: [{role: user, content: first}]}\n" +
	"  - {version: 2, model: m, messages: [{role: user, content: second}]}\n"

func TestFileSourceReloadsAChangedFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "mail.yaml", fileV1)
	src := NewFileSource(dir, discardLog())
	src.recheck = 0 // see every edit at once
	p, err := src.Get(context.Background(), "mail", "")
	if err != nil || p.CurrentVersion != 1 {
		t.Fatalf("first load: %v %+v", err, p)
	}

	writeFile(t, dir, "mail.yaml", fileV2)
	touch(t, path, time.Second)
	p, err = src.Get(context.Background(), "mail", "")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Version(0); p.CurrentVersion != 2 || v.Messages[0].Content != "second" {
		t.Fatalf("after edit: %+v", p)
	}
}

func TestFileSourceKeepsTheLastGoodVersionOfABrokenFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "mail.yaml", fileV1)
	logs := &syncBuffer{}
	src := NewFileSource(dir, slog.New(slog.NewTextHandler(logs, nil)))
	src.recheck = 0 // see every edit at once
	if _, err := src.Get(context.Background(), "mail", ""); err != nil {
		t.Fatal(err)
	}

	writeFile(t, dir, "mail.yaml", "slug: mail\nversions: [{version: 1, messages: [{role: wizard, content: x}]}]\n")
	touch(t, path, time.Second)
	for i := 0; i < 2; i++ {
		p, err := src.Get(context.Background(), "mail", "")
		if err != nil {
			t.Fatalf("get %d of a broken file: %v", i, err)
		}
		if v, _ := p.Version(0); v.Messages[0].Content != "first" {
			t.Fatalf("get %d served %+v, want the last good version", i, v)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "serving its last good version") || !strings.Contains(out, "mail") || !strings.Contains(out, "wizard") {
		t.Fatalf("broken file not logged with its error: %s", out)
	}
	if n := strings.Count(out, "serving its last good version"); n != 1 {
		t.Errorf("logged %d times for one broken edit, want once", n)
	}

	// Fixing the file brings the new content.
	writeFile(t, dir, "mail.yaml", fileV2)
	touch(t, path, 2*time.Second)
	if p, err := src.Get(context.Background(), "mail", ""); err != nil || p.CurrentVersion != 2 {
		t.Fatalf("after the fix: %v %+v", err, p)
	}
}

func TestFileSourceBrokenFileWithoutAGoodVersionFails(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.json", `{"slug":"bad","versions":[`)
	_, err := NewFileSource(dir, discardLog()).Get(context.Background(), "bad", "")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want a parse error", err)
	}
}

func TestFileSourceSeesNewAndRemovedFiles(t *testing.T) {
	dir := t.TempDir()
	src := NewFileSource(dir, discardLog())
	src.recheck = 0 // see every edit at once
	if _, err := src.Get(context.Background(), "mail", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before the file exists: %v", err)
	}
	path := writeFile(t, dir, "mail.yaml", fileV1)
	if _, err := src.Get(context.Background(), "mail", ""); err != nil {
		t.Fatalf("after the file appears: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Get(context.Background(), "mail", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the file is removed: %v", err)
	}
}

func TestFileSourceRechecksAtMostOncePerInterval(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	writePrompt := func(model string) {
		if err := os.WriteFile(path, []byte("versions: [{version: 1, model: "+model+", messages: [{role: user, content: hi}]}]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePrompt("m1")
	src := NewFileSource(dir, discardLog())
	src.recheck = time.Hour
	if p, err := src.Get(context.Background(), "p", ""); err != nil || p.Versions[0].Model != "m1" {
		t.Fatalf("first read: %v %v", p, err)
	}
	writePrompt("m2-longer")
	touch(t, path, time.Second)
	if p, _ := src.Get(context.Background(), "p", ""); p.Versions[0].Model != "m1" {
		t.Errorf("within the recheck interval the cached prompt serves, got %q", p.Versions[0].Model)
	}
	src.recheck = 0
	if p, _ := src.Get(context.Background(), "p", ""); p.Versions[0].Model != "m2-longer" {
		t.Errorf("after the interval the edit shows, got %q", p.Versions[0].Model)
	}
}
