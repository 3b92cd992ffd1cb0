package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func ptr[T any](v T) *T { return &v }

func msgs(contents ...string) *[]TemplateMessage {
	out := make([]TemplateMessage, len(contents))
	for i, c := range contents {
		out[i] = TemplateMessage{Role: "user", Content: c}
	}
	return &out
}

func newWritable(t *testing.T, dir string) (*Registry, *FileSource) {
	t.Helper()
	src := NewWritableFileSource(dir, discardLog())
	return New(src), src
}

func TestCreateUpdateDeleteThroughTheRegistry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, _ := newWritable(t, dir)

	p, err := reg.Create(ctx, &PromptChange{Name: ptr("Welcome Email!"), Model: ptr("mock-1"),
		Content: msgs("Hi {{name}}")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "welcome-email" || p.CurrentVersion != 1 || !strings.HasPrefix(p.ID, "pr_") ||
		p.CreatedAt == "" || p.Versions[0].Messages[0].ID == "" {
		t.Fatalf("created %+v", p)
	}
	if _, err := os.Stat(filepath.Join(dir, "welcome-email.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Create(ctx, &PromptChange{Slug: ptr("welcome-email"), Name: ptr("x"), Model: ptr("m"),
		Content: msgs("x")}, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v", err)
	}

	// Visible to the next run at once, though the file was stat'ed less than a second ago.
	res, err := reg.Resolve(ctx, "welcome-email", 0, "")
	if err != nil || res.Version.Version != 1 {
		t.Fatalf("resolve after create: %v", err)
	}

	// A name change is not a new version; a content change is, and earlier ones stay.
	p, err = reg.Update(ctx, "welcome-email", &PromptChange{Name: ptr("Welcome")}, "")
	if err != nil || p.Name != "Welcome" || len(p.Versions) != 1 {
		t.Fatalf("rename: %v %+v", err, p)
	}
	p, err = reg.Update(ctx, "welcome-email", &PromptChange{Content: msgs("Hello {{name}}"), Temperature: ptr(0.3)}, "")
	if err != nil || p.CurrentVersion != 2 || len(p.Versions) != 2 {
		t.Fatalf("content change: %v %+v", err, p)
	}
	if v2, _ := p.Version(2); v2.Model != "mock-1" || *v2.Temperature != 0.3 || v2.Messages[0].Content != "Hello {{name}}" {
		t.Fatalf("version 2 = %+v", v2)
	}
	// The same content again changes nothing.
	if p, err = reg.Update(ctx, "welcome-email", &PromptChange{Content: msgs("Hello {{name}}")}, ""); err != nil || p.CurrentVersion != 2 {
		t.Fatalf("no-op update: %v %+v", err, p)
	}
	res, err = reg.Resolve(ctx, "welcome-email", 1, "")
	if err != nil || res.Version.Messages[0].Content != "Hi {{name}}" {
		t.Fatalf("version 1 after update: %v %+v", err, res)
	}
	if res, err = reg.Resolve(ctx, "welcome-email", 0, ""); err != nil || res.Version.Version != 2 {
		t.Fatalf("current after update: %v", err)
	}

	// Another instance reading the directory sees the same prompt, ids and dates included.
	other := NewFileSource(dir, discardLog())
	got, err := other.Get(ctx, "welcome-email", "")
	if err != nil || got.ID != p.ID || got.UpdatedAt != p.UpdatedAt || got.Versions[1].Messages[0].ID != p.Versions[1].Messages[0].ID {
		t.Fatalf("other instance: %v %+v", err, got)
	}

	// A new slug renames the prompt: same id and versions, the old slug gone.
	if _, err := reg.Create(ctx, &PromptChange{Slug: ptr("taken"), Name: ptr("T"), Model: ptr("m"), Content: msgs("t")}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Update(ctx, "welcome-email", &PromptChange{Slug: ptr("taken")}, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto an existing slug: %v", err)
	}
	renamed, err := reg.Update(ctx, "welcome-email", &PromptChange{Slug: ptr("welcome")}, "")
	if err != nil || renamed.Slug != "welcome" || renamed.ID != p.ID || len(renamed.Versions) != 2 {
		t.Fatalf("rename: %v %+v", err, renamed)
	}
	if _, err := reg.Resolve(ctx, "welcome-email", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old slug after rename: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "welcome-email.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old file after rename: %v", err)
	}
	if res, err := reg.Resolve(ctx, "welcome", 1, ""); err != nil || res.Version.Messages[0].Content != "Hi {{name}}" {
		t.Fatalf("version 1 under the new slug: %v", err)
	}

	if err := reg.Delete(ctx, "welcome", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Resolve(ctx, "welcome", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve after delete: %v", err)
	}
	if err := reg.Delete(ctx, "welcome", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := reg.Update(ctx, "welcome-email", &PromptChange{Name: ptr("x")}, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update after delete: %v", err)
	}
}

func TestWritesNeedAWritableSource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "mail.yaml", fileV1)
	ro := New(NewFileSource(dir, discardLog()))
	if _, err := ro.Create(ctx, &PromptChange{Name: ptr("x"), Model: ptr("m"), Content: msgs("x")}, ""); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("create: %v", err)
	}
	if err := ro.Delete(ctx, "mail", ""); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "writable: true") {
		t.Fatalf("delete: %v", err)
	}
	// A prompt of a read-only source cannot be changed through a writable one after it, nor
	// created again there.
	rw := New(NewFileSource(dir, discardLog()), NewWritableFileSource(t.TempDir(), discardLog()))
	if _, err := rw.Update(ctx, "mail", &PromptChange{Name: ptr("x")}, ""); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("update of a read-only prompt: %v", err)
	}
	if _, err := rw.Create(ctx, &PromptChange{Slug: ptr("mail"), Name: ptr("x"), Model: ptr("m"), Content: msgs("x")}, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("create over a read-only prompt: %v", err)
	}
	// A writable copy hidden behind an earlier source is not written: nobody would see it.
	hidden := t.TempDir()
	writeFile(t, hidden, "mail.yaml", fileV1)
	shadowed := New(NewFileSource(dir, discardLog()), NewWritableFileSource(hidden, discardLog()))
	if _, err := shadowed.Update(ctx, "mail", &PromptChange{Name: ptr("x")}, ""); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "earlier source") {
		t.Fatalf("update of a shadowed prompt: %v", err)
	}
	if err := shadowed.Delete(ctx, "mail", ""); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("delete of a shadowed prompt: %v", err)
	}
}

func TestWriteInputIsChecked(t *testing.T) {
	ctx := context.Background()
	reg, _ := newWritable(t, t.TempDir())
	long := strings.Repeat("x", maxMessageBytes+1)
	cases := map[string]*PromptChange{
		"slug":                {Slug: ptr("../etc"), Name: ptr("x"), Model: ptr("m"), Content: msgs("x")},
		"content[0].role":     {Name: ptr("x"), Model: ptr("m"), Content: &[]TemplateMessage{{Role: "tool", Content: "x"}}},
		"content[0].content":  {Name: ptr("x"), Model: ptr("m"), Content: msgs(" ")},
		"content":             {Name: ptr("x"), Model: ptr("m"), Content: &[]TemplateMessage{}},
		"provider":            {Name: ptr("x"), Model: ptr("m"), Content: msgs("x"), Provider: ptr("mock")},
		"temperature":         {Name: ptr("x"), Model: ptr("m"), Content: msgs("x"), Temperature: ptr(3.0)},
		"name":                {Model: ptr("m"), Content: msgs("x")},
		"model":               {Name: ptr("x"), Model: ptr(" "), Content: msgs("x")},
		"content[0].content ": {Name: ptr("x"), Model: ptr("m"), Content: msgs(long)},
	}
	for field, c := range cases {
		_, err := reg.Create(ctx, c, "")
		if !errors.Is(err, llm.ErrInvalidRequest) || !strings.Contains(err.Error(), strings.TrimSpace(field)+":") {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := reg.Update(ctx, "a/b", &PromptChange{}, ""); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("update of a bad slug: %v", err)
	}
	if _, err := reg.Create(ctx, &PromptChange{Name: ptr("!!!"), Model: ptr("m"), Content: msgs("x")}, ""); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("name with no slug in it: %v", err)
	}
}

// A write that fails half way (a full disk) leaves the previous file as it was and no
// temporary file behind.
func TestFailedWriteLeavesThePreviousFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, src := newWritable(t, dir)
	if _, err := reg.Create(ctx, &PromptChange{Slug: ptr("mail"), Name: ptr("Mail"), Model: ptr("m"), Content: msgs("first")}, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mail.yaml")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src.writeStep = func(f *os.File, data []byte) error {
		if _, err := f.Write(data[:len(data)/2]); err != nil {
			return err
		}
		return fmt.Errorf("write %s: %w", f.Name(), syscall.ENOSPC)
	}
	if _, err := reg.Update(ctx, "mail", &PromptChange{Content: msgs("second")}, ""); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("update on a full disk: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) != string(before) {
		t.Fatalf("file changed by a failed write: %v\n%s", err, after)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	res, err := reg.Resolve(ctx, "mail", 0, "")
	if err != nil || res.Version.Messages[0].Content != "first" || len(res.Prompt.Versions) != 1 {
		t.Fatalf("served after a failed write: %v %+v", err, res)
	}
	if _, err := os.Stat(path + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("unexpected file")
	}
}

// Two registries on one directory (two instances) updating one prompt at once: every update
// lands as its own version, none is lost.
func TestConcurrentWritersLoseNoVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := newWritable(t, dir)
	b, _ := newWritable(t, dir)
	if _, err := a.Create(ctx, &PromptChange{Slug: ptr("shared"), Name: ptr("Shared"), Model: ptr("m"), Content: msgs("v1")}, ""); err != nil {
		t.Fatal(err)
	}
	const perWriter = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*perWriter)
	for w, reg := range []*Registry{a, b} {
		for i := range perWriter {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := reg.Update(ctx, "shared", &PromptChange{Content: msgs(fmt.Sprintf("writer %d update %d", w, i))}, "")
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewFileSource(dir, discardLog()).Get(ctx, "shared", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != 1+2*perWriter || p.CurrentVersion != 1+2*perWriter {
		t.Fatalf("%d versions, current %d; want %d", len(p.Versions), p.CurrentVersion, 1+2*perWriter)
	}
	seen := map[string]bool{}
	for _, v := range p.Versions {
		seen[v.Messages[0].Content] = true
	}
	for w := range 2 {
		for i := range perWriter {
			if !seen[fmt.Sprintf("writer %d update %d", w, i)] {
				t.Errorf("update %d of writer %d lost", i, w)
			}
		}
	}
}

// Two instances creating one slug at once: exactly one wins, the other gets ErrConflict.
func TestConcurrentCreatesConflict(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := newWritable(t, dir)
	b, _ := newWritable(t, dir)
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, reg := range []*Registry{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = reg.Create(ctx, &PromptChange{Slug: ptr("once"), Name: ptr("Once"), Model: ptr("m"), Content: msgs(fmt.Sprint(i))}, "")
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Fatalf("%d created, %d conflicts", ok, conflicts)
	}
}

// A JSON prompt file stays JSON, and a hand-written YAML file keeps its tools and schemas
// through an update.
func TestUpdateKeepsFormatAndVersionExtras(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "j.json", `{"versions":[{"version":1,"model":"m","messages":[{"role":"user","content":"x"}]}]}`)
	writeFile(t, dir, "y.yaml", "versions:\n  - version: 1\n    model: m\n    messages: [{role: user, content: x}]\n"+
		"    tools: [{name: lookup, parameters: {type: object, properties: {q: {type: string}}}}]\n"+
		"    responseFormat: {type: json, schema: {type: object}}\n")
	reg, _ := newWritable(t, dir)
	if _, err := reg.Update(ctx, "j", &PromptChange{Model: ptr("m2")}, ""); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "j.json"))
	if !strings.HasPrefix(string(raw), "{") || !strings.Contains(string(raw), `"m2"`) {
		t.Fatalf("json file now:\n%s", raw)
	}
	if _, err := reg.Update(ctx, "y", &PromptChange{Content: msgs("y")}, ""); err != nil {
		t.Fatal(err)
	}
	p, err := NewFileSource(dir, discardLog()).Get(ctx, "y", "")
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := p.Version(2)
	if len(v2.Tools) != 1 || string(v2.Tools[0].Parameters) != `{"properties":{"q":{"type":"string"}},"type":"object"}` ||
		v2.ResponseFormat == nil || string(v2.ResponseFormat.Schema) != `{"type":"object"}` {
		t.Fatalf("version 2 extras: %+v %+v", v2.Tools, v2.ResponseFormat)
	}
}

// An instance that has the prompt cached sees another instance's update at its next stat, and
// its delete too, even when the rewrite keeps the size and lands within the file system's
// timestamp granularity (the rename makes it another file).
func TestOtherInstanceSeesWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writer, _ := newWritable(t, dir)
	if _, err := writer.Create(ctx, &PromptChange{Slug: ptr("m"), Name: ptr("Ab"), Model: ptr("m"), Content: msgs("aaaa")}, ""); err != nil {
		t.Fatal(err)
	}
	reader := NewFileSource(dir, discardLog())
	reader.recheck = 0 // the next stat is now, not within a second
	if p, err := reader.Get(ctx, "m", ""); err != nil || p.CurrentVersion != 1 {
		t.Fatalf("first read: %v", err)
	}
	info, _ := os.Stat(filepath.Join(dir, "m.yaml"))
	if _, err := writer.Update(ctx, "m", &PromptChange{Name: ptr("Cd")}, ""); err != nil {
		t.Fatal(err)
	}
	// Same size and modification time as before: only the file's identity tells.
	if err := os.Chtimes(filepath.Join(dir, "m.yaml"), info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if p, err := reader.Get(ctx, "m", ""); err != nil || p.Name != "Cd" {
		t.Fatalf("after the other instance's update: %v %+v", err, p)
	}
	if err := writer.Delete(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Get(ctx, "m", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the other instance's delete: %v", err)
	}
}

// A writable directory that does not exist yet is made by the first create.
func TestCreateMakesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "prompts")
	reg, _ := newWritable(t, dir)
	if list, err := reg.List(context.Background(), ""); err != nil || len(list) != 0 {
		t.Fatalf("list before the directory exists: %v %v", list, err)
	}
	if _, err := reg.Create(context.Background(), &PromptChange{Name: ptr("First"), Content: msgs("x")}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "first.yaml")); err != nil {
		t.Fatal(err)
	}
}
