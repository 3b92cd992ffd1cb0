package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A prompt file without timestamps or message ids is served with the same ones by every
// FileSource that reads it (a restart, another instance): its modification time and ids
// derived from slug, version and position.
func TestFileTimestampsAndMessageIDsAreStable(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "mail.yaml", fileV2)
	mt := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
	first, err := NewFileSource(dir, discardLog()).Get(context.Background(), "mail", "")
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewFileSource(dir, discardLog()).Get(context.Background(), "mail", "")
	if err != nil {
		t.Fatal(err)
	}
	if first.CreatedAt != "2024-05-06T07:08:09.000Z" || first.UpdatedAt != first.CreatedAt {
		t.Errorf("timestamps %q %q, want the file's modification time", first.CreatedAt, first.UpdatedAt)
	}
	for i := range first.Versions {
		if first.Versions[i].CreatedAt != first.CreatedAt {
			t.Errorf("version %d createdAt %q", first.Versions[i].Version, first.Versions[i].CreatedAt)
		}
		for j, m := range first.Versions[i].Messages {
			if m.ID == "" || m.ID != again.Versions[i].Messages[j].ID {
				t.Errorf("message id %q then %q", m.ID, again.Versions[i].Messages[j].ID)
			}
		}
	}
	if first.Versions[0].Messages[0].ID == first.Versions[1].Messages[0].ID {
		t.Error("two versions' first messages share an id")
	}
}

// Stored timestamps win over the modification time, in any ISO form (YAML's own unquoted
// timestamps included), and come out in one layout; a malformed one is an error naming it.
func TestFileTimestampsFromTheFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", "createdAt: 2023-01-02T03:04:05Z\nupdatedAt: \"2023-02-03T04:05:06.5+01:00\"\n"+
		"versions:\n  - {version: 1, model: m, createdAt: 2023-01-02, messages: [{id: keep, role: user, content: x}]}\n")
	writeFile(t, dir, "b.yaml", "createdAt: yesterday\nversions:\n  - {version: 1, model: m, messages: [{role: user, content: x}]}\n")
	src := NewFileSource(dir, discardLog())
	p, err := src.Get(context.Background(), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.CreatedAt != "2023-01-02T03:04:05.000Z" || p.UpdatedAt != "2023-02-03T03:05:06.500Z" ||
		p.Versions[0].CreatedAt != "2023-01-02T00:00:00.000Z" || p.Versions[0].Messages[0].ID != "keep" {
		t.Errorf("got %q %q %q %q", p.CreatedAt, p.UpdatedAt, p.Versions[0].CreatedAt, p.Versions[0].Messages[0].ID)
	}
	_, err = src.Get(context.Background(), "b", "")
	if err == nil || !strings.Contains(err.Error(), "createdAt") || !strings.Contains(err.Error(), "yesterday") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "b.yaml")) {
		t.Errorf("bad createdAt: %v", err)
	}
}
