package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tracegate/tracegate/llm"
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
