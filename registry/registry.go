package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Source is one place prompts come from.
type Source interface {
	// Get returns the prompt for slug, or an error wrapping ErrNotFound. callerKey is the
	// caller's bearer key, for sources configured to pass it through.
	Get(ctx context.Context, slug, callerKey string) (*Prompt, error)
	// List returns the source's prompts.
	List(ctx context.Context, callerKey string) ([]*Prompt, error)
}

// Registry tries its sources in order.
type Registry struct {
	sources []Source
}

// New returns a registry over sources, tried in order.
func New(sources ...Source) *Registry { return &Registry{sources: sources} }

// Resolved is a prompt version chosen for a run.
type Resolved struct {
	Prompt  *Prompt
	Version *Version
	// Stale is true when the prompt was served from cache past its TTL because the upstream
	// failed.
	Stale bool
}

// cachingSource is implemented by sources that cache (Cache). They are told the version the
// run wants, because a pinned version is immutable and can be served from cache past its TTL,
// and they report whether the prompt they return is stale.
type cachingSource interface {
	GetWithState(ctx context.Context, slug string, version int, callerKey string) (*Prompt, bool, error)
}

// Resolve finds slug in the first source that has it and picks version (0 = current).
func (r *Registry) Resolve(ctx context.Context, slug string, version int, callerKey string) (Resolved, error) {
	if !ValidSlug(slug) {
		return Resolved{}, fmt.Errorf("slug %q: %w", slug, errInvalidSlug)
	}
	var firstErr error
	for _, src := range r.sources {
		var (
			p     *Prompt
			stale bool
			err   error
		)
		if cs, ok := src.(cachingSource); ok {
			p, stale, err = cs.GetWithState(ctx, slug, version, callerKey)
		} else {
			p, err = src.Get(ctx, slug, callerKey)
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		v, ok := p.Version(version)
		if !ok {
			return Resolved{}, fmt.Errorf("prompt %q version %d: %w", slug, version, ErrNotFound)
		}
		return Resolved{Prompt: p, Version: v, Stale: stale}, nil
	}
	if firstErr != nil {
		return Resolved{}, firstErr
	}
	return Resolved{}, fmt.Errorf("prompt %q: %w", slug, ErrNotFound)
}

// Get returns the whole prompt for slug from the first source that has it.
func (r *Registry) Get(ctx context.Context, slug, callerKey string) (*Prompt, error) {
	res, err := r.Resolve(ctx, slug, 0, callerKey)
	if err != nil {
		return nil, err
	}
	return res.Prompt, nil
}

// List merges every source's prompts; an earlier source wins a slug both have. A source that
// fails is skipped unless every source fails.
func (r *Registry) List(ctx context.Context, callerKey string) ([]*Prompt, error) {
	seen := map[string]bool{}
	var out []*Prompt
	var firstErr error
	failed := 0
	for _, src := range r.sources {
		ps, err := src.List(ctx, callerKey)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, p := range ps {
			if !seen[p.Slug] {
				seen[p.Slug] = true
				out = append(out, p)
			}
		}
	}
	if failed == len(r.sources) && firstErr != nil {
		return nil, firstErr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}
