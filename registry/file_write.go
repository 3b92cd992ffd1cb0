package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// A writable FileSource's side of prompt management: one file per slug, replaced atomically,
// under the slug's write lock (lock.go).

// Writable reports whether the source accepts writes.
func (s *FileSource) Writable() bool { return s.writable }

// create writes a new prompt file, <slug>.yaml, holding version 1.
func (s *FileSource) create(ctx context.Context, slug string, c *PromptChange) (*Prompt, error) {
	unlock, err := s.lockSlugs(ctx, slug)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if path, _ := s.findFile(slug); path != "" {
		return nil, fmt.Errorf("prompt %q: %w", slug, ErrConflict)
	}
	now := FormatTime(s.now())
	p := &Prompt{ID: newPromptID(), Slug: slug, Name: *c.Name, CurrentVersion: 1, CreatedAt: now, UpdatedAt: now}
	if c.Description != nil {
		p.Description = *c.Description
	}
	v := Version{Version: 1, CreatedAt: now}
	applyVersionChange(&v, c)
	p.Versions = []Version{v}
	return s.store(slug, filepath.Join(s.dir, slug+".yaml"), p)
}

// update applies c to the stored prompt. A change of content or of a model parameter adds a
// version, a copy of the current one with the change applied, and makes it current; earlier
// versions stay as they were. Name and description change the prompt itself; so does a new
// slug, which renames the file (the new file is written before the old one is removed, so a
// crash in between leaves both, never neither).
func (s *FileSource) update(ctx context.Context, slug string, c *PromptChange) (*Prompt, error) {
	newSlug := slug
	if c.Slug != nil {
		newSlug = *c.Slug
	}
	unlock, err := s.lockSlugs(ctx, slug, newSlug)
	if err != nil {
		return nil, err
	}
	defer unlock()
	path, info := s.findFile(slug)
	if path == "" {
		return nil, fmt.Errorf("prompt %q: %w", slug, ErrNotFound)
	}
	renaming := newSlug != slug
	if existing, _ := s.findFile(newSlug); renaming && existing != "" {
		return nil, fmt.Errorf("rename to %q: %w", newSlug, ErrConflict)
	}
	// Read the file itself, not the cache: another instance may have written it a moment ago.
	p, err := readPromptFile(slug, path, info.ModTime())
	if err != nil {
		return nil, fmt.Errorf("prompt %q cannot be updated until its file is fixed: %w", slug, err)
	}
	changed := false
	if c.Name != nil && *c.Name != p.Name {
		p.Name, changed = *c.Name, true
	}
	if c.Description != nil && *c.Description != p.Description {
		p.Description, changed = *c.Description, true
	}
	cur, _ := p.Version(0)
	next := cloneVersion(cur)
	applyVersionChange(&next, c)
	if !sameVersion(cur, &next) {
		if len(p.Versions) >= maxVersions {
			return nil, invalidField("content", "prompt %q already has %d versions, the most kept; create a new prompt instead", slug, maxVersions)
		}
		highest := 0
		for _, v := range p.Versions {
			highest = max(highest, v.Version)
		}
		next.Version = highest + 1
		next.CreatedAt = FormatTime(s.now())
		p.Versions = append(p.Versions, next)
		p.CurrentVersion = next.Version
		changed = true
	}
	if !changed && !renaming {
		return p, nil
	}
	p.UpdatedAt = FormatTime(s.now())
	if !renaming {
		return s.store(slug, path, p)
	}
	p.Slug = newSlug
	stored, err := s.store(newSlug, filepath.Join(s.dir, newSlug+filepath.Ext(path)), p)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("rename prompt %q: remove the old file: %w", slug, err)
	}
	if err := syncDir(s.dir); err != nil {
		return nil, fmt.Errorf("rename prompt %q: %w", slug, err)
	}
	s.mu.Lock()
	delete(s.cache, slug)
	s.mu.Unlock()
	return stored, nil
}

// remove deletes the prompt's file.
func (s *FileSource) remove(ctx context.Context, slug string) error {
	unlock, err := s.lockSlugs(ctx, slug)
	if err != nil {
		return err
	}
	defer unlock()
	removed := false
	for _, ext := range promptExtensions {
		err := os.Remove(filepath.Join(s.dir, slug+ext))
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("delete prompt %q: %w", slug, err)
		}
	}
	if !removed {
		return fmt.Errorf("prompt %q: %w", slug, ErrNotFound)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("delete prompt %q: %w", slug, err)
	}
	s.mu.Lock()
	delete(s.cache, slug)
	s.mu.Unlock()
	return nil
}

// findFile returns the file that stores slug, if any.
func (s *FileSource) findFile(slug string) (string, os.FileInfo) {
	for _, ext := range promptExtensions {
		path := filepath.Join(s.dir, slug+ext)
		if info, err := os.Stat(path); err == nil {
			return path, info
		}
	}
	return "", nil
}

// store checks p, writes it to path atomically and makes this source serve it at once.
func (s *FileSource) store(slug, path string, p *Prompt) (*Prompt, error) {
	if err := p.normalize(slug, unknownTime); err != nil {
		return nil, fmt.Errorf("store prompt: %w", err)
	}
	var (
		data []byte
		err  error
	)
	if filepath.Ext(path) == ".json" {
		data, err = json.MarshalIndent(p, "", "  ")
		data = append(data, '\n')
	} else {
		data, err = encodeYAML(p)
	}
	if err != nil {
		return nil, fmt.Errorf("encode prompt %q: %w", slug, err)
	}
	if err := s.writeAtomic(path, data); err != nil {
		return nil, fmt.Errorf("write prompt %q: %w", slug, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("write prompt %q: %w", slug, err)
	}
	s.mu.Lock()
	s.cache[slug] = &fileEntry{path: path, modTime: info.ModTime(), size: info.Size(), info: info, prompt: p, checked: time.Now()}
	s.mu.Unlock()
	return p, nil
}

// encodeYAML writes p indented by two spaces, like the shipped prompt files.
func encodeYAML(p *Prompt) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeAtomic replaces path with data so that a reader, or the file after a crash or a full
// disk, has either the old content or the new, never part of it: the data goes to a temporary
// file in the same directory, is synced, renamed over path, and the directory is synced so the
// rename itself survives a crash.
func (s *FileSource) writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = s.writeStep(f, data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	// Readable by the other processes that serve the directory, like a file written by hand.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeAll is the default write step: the whole of data, or an error.
func writeAll(f *os.File, data []byte) error {
	_, err := f.Write(data)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func cloneVersion(v *Version) Version {
	c := *v
	c.Messages = slices.Clone(v.Messages)
	c.StopSequences = slices.Clone(v.StopSequences)
	return c
}

// applyVersionChange sets the version fields c gives.
func applyVersionChange(v *Version, c *PromptChange) {
	if c.Content != nil {
		v.Messages = slices.Clone(*c.Content)
	}
	if c.Model != nil {
		v.Model = *c.Model
	}
	if c.Provider != nil {
		v.Provider = *c.Provider
	}
	if c.Temperature != nil {
		t := *c.Temperature
		v.Temperature = &t
	}
	if c.MaxOutputTokens != nil {
		v.MaxOutputTokens = *c.MaxOutputTokens
	}
	if c.TopP != nil {
		t := *c.TopP
		v.TopP = &t
	}
	if c.StopSequences != nil {
		v.StopSequences = slices.Clone(*c.StopSequences)
	}
}

// sameVersion reports whether b runs like a: same messages (ids aside), model and parameters.
func sameVersion(a, b *Version) bool {
	if a.Model != b.Model || a.Provider != b.Provider || a.MaxOutputTokens != b.MaxOutputTokens ||
		!sameFloat(a.Temperature, b.Temperature) || !sameFloat(a.TopP, b.TopP) ||
		!slices.Equal(a.StopSequences, b.StopSequences) || len(a.Messages) != len(b.Messages) {
		return false
	}
	for i := range a.Messages {
		if a.Messages[i].Role != b.Messages[i].Role || a.Messages[i].Content != b.Messages[i].Content {
			return false
		}
	}
	return true
}

func sameFloat(a, b *float64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// newPromptID names a created prompt. It is stored in the file, so it never changes; a prompt
// deleted and created again gets a new one.
func newPromptID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "pr_" + hex.EncodeToString(b[:])
}
