package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileSource serves prompts from a directory, one file per slug: <slug>.yaml, .yml or .json.
// A file is re-read when its size or modification time changes, so edits need no restart; a
// file that no longer parses is logged and its last good version keeps serving.
type FileSource struct {
	dir string
	log *slog.Logger
	// recheck is how long a file's last stat stays good: the run path then costs no system
	// call, and an edit still shows within a second.
	recheck time.Duration

	mu    sync.Mutex
	cache map[string]*fileEntry

	// writable enables Create, Update and Delete (write.go).
	writable bool
	// slugLocks serialise this process's writers of one slug (striped: bounded memory for
	// any number of slugs); a lock file does the same across processes.
	slugLocks [64]sync.Mutex
	// writeStep writes a prompt file's bytes; tests replace it to fail half way.
	writeStep func(f *os.File, data []byte) error
	now       func() time.Time
}

// defaultRecheck bounds how stale a served prompt file can be after an edit.
const defaultRecheck = time.Second

type fileEntry struct {
	path    string
	modTime time.Time
	size    int64
	// info identifies the file itself: a rename over it (every write) is a change even
	// within the file system's timestamp granularity.
	info    fs.FileInfo
	prompt  *Prompt
	lastErr string
	// checked is when the file was last stat'ed.
	checked time.Time
}

var promptExtensions = []string{".yaml", ".yml", ".json"}

// NewFileSource serves the prompt files in dir.
func NewFileSource(dir string, log *slog.Logger) *FileSource {
	if log == nil {
		log = slog.Default()
	}
	return &FileSource{dir: dir, log: log, recheck: defaultRecheck, cache: map[string]*fileEntry{},
		writeStep: writeAll, now: time.Now}
}

// NewWritableFileSource serves the prompt files in dir and lets the prompts API create,
// update and delete them (config: writable: true on a file source).
func NewWritableFileSource(dir string, log *slog.Logger) *FileSource {
	s := NewFileSource(dir, log)
	s.writable = true
	return s
}

// Get returns the prompt stored as slug, or ErrNotFound.
func (s *FileSource) Get(_ context.Context, slug, _ string) (*Prompt, error) {
	if p, ok := s.fresh(slug); ok {
		return p, nil
	}
	if path, info := s.findFile(slug); path != "" {
		return s.load(slug, path, info)
	}
	return nil, fmt.Errorf("prompt %q: %w", slug, ErrNotFound)
}

// fresh returns the cached prompt for slug when its file was checked within recheck.
func (s *FileSource) fresh(slug string) (*Prompt, bool) {
	if s.recheck <= 0 {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.cache[slug]
	if e == nil || e.prompt == nil || time.Since(e.checked) >= s.recheck {
		return nil, false
	}
	return e.prompt, true
}

// List returns every prompt in the directory, sorted by slug. Broken files are skipped (and
// logged) so one bad file does not hide the others.
func (s *FileSource) List(_ context.Context, _ string) ([]*Prompt, error) {
	entries, err := os.ReadDir(s.dir)
	if s.writable && errors.Is(err, fs.ErrNotExist) {
		return nil, nil // made on the first write
	}
	if err != nil {
		return nil, fmt.Errorf("list prompts in %s: %w", s.dir, err)
	}
	seen := map[string]bool{}
	var out []*Prompt
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		slug := strings.TrimSuffix(e.Name(), ext)
		if e.IsDir() || !isPromptExt(ext) || seen[slug] || !ValidSlug(slug) {
			continue
		}
		seen[slug] = true
		p, err := s.Get(context.Background(), slug, "")
		if err != nil {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}

func isPromptExt(ext string) bool {
	for _, e := range promptExtensions {
		if e == ext {
			return true
		}
	}
	return false
}

// load returns the prompt in path, reading and parsing it only when the file changed. The
// lock guards the cache alone, never the read or the parse: a slow disk or a large file must
// not stall every other prompt's runs. Two callers that race on a changed file may both read
// it; the last to finish stores its result, which describes the same file.
func (s *FileSource) load(slug, path string, info fs.FileInfo) (*Prompt, error) {
	s.mu.Lock()
	e := s.cache[slug]
	if e != nil && e.path == path && e.modTime.Equal(info.ModTime()) && e.size == info.Size() && os.SameFile(e.info, info) {
		e.checked = time.Now()
		p, lastErr := e.prompt, e.lastErr
		s.mu.Unlock()
		if p == nil {
			return nil, fmt.Errorf("prompt %q: %s", slug, lastErr)
		}
		return p, nil
	}
	s.mu.Unlock()

	p, err := readPromptFile(slug, path, info.ModTime())

	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.cache[slug]; e == nil {
		e = &fileEntry{}
		s.cache[slug] = e
	}
	e.path, e.modTime, e.size, e.info, e.checked = path, info.ModTime(), info.Size(), info, time.Now()
	if err != nil {
		e.lastErr = err.Error()
		if e.prompt != nil {
			s.log.Error("prompt file is broken; serving its last good version", "slug", slug, "path", path, "error", err)
			return e.prompt, nil
		}
		s.log.Error("prompt file is broken", "slug", slug, "path", path, "error", err)
		return nil, fmt.Errorf("prompt %q: %w", slug, err)
	}
	e.prompt, e.lastErr = p, ""
	return p, nil
}

// readPromptFile parses the prompt file at path; modTime dates a prompt whose file carries no
// createdAt or updatedAt.
func readPromptFile(slug, path string, modTime time.Time) (*Prompt, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	p := &Prompt{}
	if filepath.Ext(path) == ".json" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(p)
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		err = dec.Decode(p)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := p.normalize(slug, modTime); err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	return p, nil
}
