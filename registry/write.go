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
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
	"go.yaml.in/yaml/v3"
)

// Prompt management (DESIGN.md section 2): create, update and delete, written to the first
// file source marked writable. One file per slug, replaced atomically; writers of one slug are
// serialised in the process and, through a lock file, across every process sharing the
// directory; the writing source's cache learns the new prompt at once, other instances see
// the new file at their next stat (within a second).

// ErrConflict is returned by Create for a slug that already exists.
var ErrConflict = errors.New("prompt already exists")

// ErrReadOnly is returned by writes when no source accepts them, or when the prompt lives in a
// source that does not.
var ErrReadOnly = errors.New("prompts are read-only here: set writable: true on a file source in registry.sources to manage prompts through the API")

// Bounds on what one write may store, so that a prompt file stays a reasonable size to re-read
// on every change.
const (
	maxNameLen        = 256
	maxDescriptionLen = 4096
	maxModelLen       = 256
	maxMessages       = 256
	maxMessageBytes   = 256 << 10
	maxMessageIDLen   = 128
	maxStopSequences  = 16
	maxStopLen        = 256
	// maxVersions bounds a prompt's history: every content or parameter change adds one.
	maxVersions = 1000
)

// PromptChange is a create or update request (the SDKs' CreatePromptOptions and
// UpdatePromptOptions). A nil field was not given.
type PromptChange struct {
	Slug            *string
	Name            *string
	Description     *string
	Content         *[]TemplateMessage
	Model           *string
	Provider        *string
	Temperature     *float64
	MaxOutputTokens *int
	TopP            *float64
	StopSequences   *[]string
}

// validProviders are the providers the Tracia SDKs accept on a prompt version.
var validProviders = []string{"openai", "anthropic", "google", "amazon_bedrock", "voyage"}

func invalidField(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", field, fmt.Sprintf(format, args...), llm.ErrInvalidRequest)
}

// check validates every field that is set; each error names its field.
func (c *PromptChange) check() error {
	var errs []error
	if c.Slug != nil && !ValidSlug(*c.Slug) {
		errs = append(errs, invalidField("slug", "%q must be letters, digits, '.', '_' or '-', at most %d, starting with a letter or digit, without '..' or '/'", *c.Slug, maxSlugLen))
	}
	if c.Name != nil && (strings.TrimSpace(*c.Name) == "" || len(*c.Name) > maxNameLen) {
		errs = append(errs, invalidField("name", "must be 1 to %d characters", maxNameLen))
	}
	if c.Description != nil && len(*c.Description) > maxDescriptionLen {
		errs = append(errs, invalidField("description", "longer than %d characters", maxDescriptionLen))
	}
	if c.Model != nil && (strings.TrimSpace(*c.Model) == "" || len(*c.Model) > maxModelLen) {
		errs = append(errs, invalidField("model", "must be 1 to %d characters", maxModelLen))
	}
	if c.Provider != nil && !slices.Contains(validProviders, *c.Provider) {
		errs = append(errs, invalidField("provider", "%q is not one of %s", *c.Provider, strings.Join(validProviders, ", ")))
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		errs = append(errs, invalidField("temperature", "%v is outside 0 to 2", *c.Temperature))
	}
	if c.TopP != nil && (*c.TopP < 0 || *c.TopP > 1) {
		errs = append(errs, invalidField("topP", "%v is outside 0 to 1", *c.TopP))
	}
	if c.MaxOutputTokens != nil && *c.MaxOutputTokens <= 0 {
		errs = append(errs, invalidField("maxOutputTokens", "must be positive, got %d", *c.MaxOutputTokens))
	}
	if c.StopSequences != nil {
		if len(*c.StopSequences) > maxStopSequences {
			errs = append(errs, invalidField("stopSequences", "more than %d", maxStopSequences))
		}
		for i, s := range *c.StopSequences {
			if s == "" || len(s) > maxStopLen {
				errs = append(errs, invalidField(fmt.Sprintf("stopSequences[%d]", i), "must be 1 to %d characters", maxStopLen))
			}
		}
	}
	if c.Content != nil {
		errs = append(errs, checkContent(*c.Content)...)
	}
	return joinFieldErrors(errs)
}

// fieldErrors reports every bad field of a request at once, on one line.
type fieldErrors []error

func (e fieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e fieldErrors) Unwrap() []error { return e }

func joinFieldErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fieldErrors(errs)
}

func checkContent(msgs []TemplateMessage) []error {
	if len(msgs) == 0 {
		return []error{invalidField("content", "at least one message is required")}
	}
	if len(msgs) > maxMessages {
		return []error{invalidField("content", "more than %d messages", maxMessages)}
	}
	var errs []error
	for i, m := range msgs {
		field := fmt.Sprintf("content[%d]", i)
		if !llm.Role(m.Role).Valid() || m.Role == string(llm.RoleTool) {
			errs = append(errs, invalidField(field+".role", "%q must be system, developer, user or assistant", m.Role))
		}
		if strings.TrimSpace(m.Content) == "" {
			errs = append(errs, invalidField(field+".content", "must not be empty"))
		}
		if len(m.Content) > maxMessageBytes {
			errs = append(errs, invalidField(field+".content", "longer than %d bytes", maxMessageBytes))
		}
		if len(m.ID) > maxMessageIDLen {
			errs = append(errs, invalidField(field+".id", "longer than %d characters", maxMessageIDLen))
		}
	}
	return errs
}

// SlugFromName derives a slug from a prompt name: lower case, runs of anything but letters and
// digits become one '-', trimmed to the slug length limit. "" when nothing usable is left.
func SlugFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 128 || !isAlnum(byte(r)) {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
		if b.Len() >= maxSlugLen {
			break
		}
	}
	slug := b.String()
	if len(slug) > maxSlugLen {
		slug = slug[:maxSlugLen]
	}
	return strings.TrimRight(slug, "-")
}

// writableSource is a source that stores prompts; FileSource with writes enabled is one.
type writableSource interface {
	Source
	Writable() bool
	create(ctx context.Context, slug string, c *PromptChange) (*Prompt, error)
	update(ctx context.Context, slug string, c *PromptChange) (*Prompt, error)
	remove(ctx context.Context, slug string) error
}

func (r *Registry) writer() (writableSource, error) {
	for _, src := range r.sources {
		if w, ok := src.(writableSource); ok && w.Writable() {
			return w, nil
		}
	}
	return nil, ErrReadOnly
}

// existsElsewhere reports whether a source other than w serves slug.
func (r *Registry) existsElsewhere(ctx context.Context, w Source, slug, callerKey string) bool {
	for _, src := range r.sources {
		if src == w {
			continue
		}
		if _, err := src.Get(ctx, slug, callerKey); err == nil {
			return true
		}
	}
	return false
}

// servedBefore reports whether a source ahead of w serves slug: a write to w would then never
// be seen, since the earlier source wins.
func (r *Registry) servedBefore(ctx context.Context, w Source, slug, callerKey string) bool {
	for _, src := range r.sources {
		if src == w {
			return false
		}
		if _, err := src.Get(ctx, slug, callerKey); err == nil {
			return true
		}
	}
	return false
}

func errShadowed(slug string) error {
	return fmt.Errorf("prompt %q is served by an earlier source in registry.sources, which is not writable: %w", slug, ErrReadOnly)
}

// Create stores a new prompt in the writable source. The slug is c.Slug or derived from the
// name; a slug any source already serves is ErrConflict. The model may be left out (the Node
// SDK's create has no model option): such a prompt runs only with a model in the run request,
// until an update gives it one.
func (r *Registry) Create(ctx context.Context, c *PromptChange, callerKey string) (*Prompt, error) {
	w, err := r.writer()
	if err != nil {
		return nil, err
	}
	var missing []error
	if c.Name == nil {
		missing = append(missing, invalidField("name", "required"))
	}
	if c.Content == nil {
		missing = append(missing, invalidField("content", "required"))
	}
	if err := c.check(); err != nil {
		missing = append(missing, err)
	}
	if err := joinFieldErrors(missing); err != nil {
		return nil, err
	}
	slug := ""
	if c.Slug != nil {
		slug = *c.Slug
	} else if slug = SlugFromName(*c.Name); slug == "" {
		return nil, invalidField("slug", "none given and the name %q has no letters or digits to derive one from", *c.Name)
	}
	if r.existsElsewhere(ctx, w, slug, callerKey) {
		return nil, fmt.Errorf("prompt %q: %w", slug, ErrConflict)
	}
	return w.create(ctx, slug, c)
}

// Update changes the prompt stored as slug (see FileSource for the versioning rules).
func (r *Registry) Update(ctx context.Context, slug string, c *PromptChange, callerKey string) (*Prompt, error) {
	if !ValidSlug(slug) {
		return nil, fmt.Errorf("slug %q: %w", slug, errInvalidSlug)
	}
	w, err := r.writer()
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Slug != nil && *c.Slug != slug && r.existsElsewhere(ctx, w, *c.Slug, callerKey) {
		return nil, fmt.Errorf("rename to %q: %w", *c.Slug, ErrConflict)
	}
	if r.servedBefore(ctx, w, slug, callerKey) {
		return nil, errShadowed(slug)
	}
	p, err := w.update(ctx, slug, c)
	if errors.Is(err, ErrNotFound) && r.existsElsewhere(ctx, w, slug, callerKey) {
		return nil, fmt.Errorf("prompt %q comes from a source that is not writable: %w", slug, ErrReadOnly)
	}
	return p, err
}

// Delete removes the prompt stored as slug.
func (r *Registry) Delete(ctx context.Context, slug, callerKey string) error {
	if !ValidSlug(slug) {
		return fmt.Errorf("slug %q: %w", slug, errInvalidSlug)
	}
	w, err := r.writer()
	if err != nil {
		return err
	}
	if r.servedBefore(ctx, w, slug, callerKey) {
		return errShadowed(slug)
	}
	err = w.remove(ctx, slug)
	if errors.Is(err, ErrNotFound) && r.existsElsewhere(ctx, w, slug, callerKey) {
		return fmt.Errorf("prompt %q comes from a source that is not writable: %w", slug, ErrReadOnly)
	}
	return err
}

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
	if err := p.normalize(slug); err != nil {
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
