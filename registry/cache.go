package registry

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// CacheOptions bound the cache in front of an upstream registry.
type CacheOptions struct {
	// TTL is how long a fetched prompt is served without asking the upstream again.
	TTL time.Duration
	// StaleIfError is how long past its TTL a prompt keeps being served while the upstream
	// fails. Zero serves nothing stale.
	StaleIfError time.Duration
	// NegativeTTL is how long an upstream 404 is remembered. Zero remembers none.
	NegativeTTL time.Duration
	// MaxEntries bounds the entries kept; the least recently used go first. Zero means
	// DefaultCacheEntries.
	MaxEntries int
}

// DefaultCacheEntries bounds the cache when CacheOptions.MaxEntries is zero.
const DefaultCacheEntries = 10000

// staleRetryInterval spaces the background refreshes of an entry whose upstream is failing,
// so that a registry that refuses connections instantly is not asked once per run.
const staleRetryInterval = time.Second

// Cache serves an upstream registry's prompts from memory.
//
//   - A fresh entry (younger than TTL) is served without touching the upstream.
//   - An expired entry is refreshed with one upstream request, conditional on its ETag; a 304
//     renews it. Concurrent lookups of one key share that request.
//   - When the refresh fails (5xx, connection error, timeout, unusable body), the old entry is
//     served, marked stale, until StaleIfError past its expiry. While it is failing, runs get
//     the stale entry at once and refreshes happen in the background, so a dead registry costs
//     at most one timeout per entry, not one per run.
//   - A pinned version is immutable, so it is served from any cached copy of its prompt, at any
//     age, until the entry is evicted.
//   - A 404 is remembered for NegativeTTL.
//
// With pass_caller_key, entries are keyed by a hash of the caller's key too, since different
// keys may see different prompts; the key itself is never stored.
type Cache struct {
	upstream *HTTPSource
	opts     CacheOptions
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *cacheEntry
	lru     *list.List               // most recently used at the front
	flights map[string]*flight

	// hits counts lookups answered from the cache (fresh, pinned or stale); misses those that
	// waited for the upstream.
	hits, misses atomic.Int64
}

// CacheHits is the number of lookups answered from the cache, for metrics.
func (c *Cache) CacheHits() int64 { return c.hits.Load() }

// CacheMisses is the number of lookups that had to wait for the upstream, for metrics.
func (c *Cache) CacheMisses() int64 { return c.misses.Load() }

type cacheEntry struct {
	key     string
	prompt  *Prompt // nil: the upstream answered 404
	etag    string
	expires time.Time
	// failing is set when a refresh past expiry failed and the entry is being served stale.
	failing bool
	// retryAt is when the next background refresh of a failing entry may start.
	retryAt time.Time
}

// flight is one upstream request; lookups of its key wait for it instead of sending another.
type flight struct {
	done   chan struct{}
	prompt *Prompt
	stale  bool
	err    error
}

// NewCache puts a cache in front of upstream.
func NewCache(upstream *HTTPSource, opts CacheOptions, log *slog.Logger) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultCacheEntries
	}
	if log == nil {
		log = slog.Default()
	}
	return &Cache{
		upstream: upstream,
		opts:     opts,
		log:      log,
		now:      time.Now,
		entries:  map[string]*list.Element{},
		lru:      list.New(),
		flights:  map[string]*flight{},
	}
}

// Get returns the prompt for slug, from cache when it can.
func (c *Cache) Get(ctx context.Context, slug, callerKey string) (*Prompt, error) {
	p, _, err := c.GetWithState(ctx, slug, 0, callerKey)
	return p, err
}

// List is not cached: listing is rare and its answer is not needed to run anything.
func (c *Cache) List(ctx context.Context, callerKey string) ([]*Prompt, error) {
	return c.upstream.List(ctx, callerKey)
}

// GetWithState returns the prompt for slug and whether it is stale: served past its TTL
// because the upstream failed. version is the version the caller will run (0 = current); a
// cached prompt that has it is served regardless of age.
func (c *Cache) GetWithState(ctx context.Context, slug string, version int, callerKey string) (*Prompt, bool, error) {
	key := c.key(slug, callerKey)
	now := c.now()

	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		switch {
		case e.prompt != nil && version != 0 && hasVersion(e.prompt, version):
			p := e.prompt
			c.mu.Unlock()
			c.hits.Add(1)
			return p, false, nil
		case now.Before(e.expires):
			p := e.prompt
			c.mu.Unlock()
			c.hits.Add(1)
			if p == nil {
				return nil, false, fmt.Errorf("prompt %q: %w", slug, ErrNotFound)
			}
			return p, false, nil
		case e.failing && e.prompt != nil && now.Before(e.expires.Add(c.opts.StaleIfError)):
			if _, busy := c.flights[key]; !busy && !now.Before(e.retryAt) {
				c.startFlight(key, slug, callerKey, e)
			}
			p := e.prompt
			c.mu.Unlock()
			c.hits.Add(1)
			return p, true, nil
		}
	}
	c.misses.Add(1)
	f, ok := c.flights[key]
	if !ok {
		var prev *cacheEntry
		if el, found := c.entries[key]; found {
			prev = el.Value.(*cacheEntry)
		}
		f = c.startFlight(key, slug, callerKey, prev)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.prompt, f.stale, f.err
	case <-ctx.Done():
		return nil, false, fmt.Errorf("prompt %q: %w", slug, ctx.Err())
	}
}

func hasVersion(p *Prompt, v int) bool {
	_, ok := p.Version(v)
	return ok
}

// key names an entry. With pass_caller_key the caller's key is part of it, hashed so that
// the cache never holds keys.
func (c *Cache) key(slug, callerKey string) string {
	if !c.upstream.passCallerKey {
		return slug
	}
	sum := sha256.Sum256([]byte(callerKey))
	return slug + "\x00" + hex.EncodeToString(sum[:16])
}

// startFlight sends one upstream request for key in the background; prev, when set, is the
// entry it refreshes. The request is detached from any caller's context so that one caller
// giving up does not fail the others waiting on it; the source timeout bounds it. c.mu is held.
func (c *Cache) startFlight(key, slug, callerKey string, prev *cacheEntry) *flight {
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	var (
		etag       string
		prevPrompt *Prompt
	)
	if prev != nil && prev.prompt != nil {
		etag, prevPrompt = prev.etag, prev.prompt
	}
	go func() {
		reply, err := c.upstream.fetch(context.Background(), slug, callerKey, etag)
		c.mu.Lock()
		c.settle(key, slug, f, prevPrompt, reply, err)
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// settle records the outcome of a flight in the cache and in f. c.mu is held.
func (c *Cache) settle(key, slug string, f *flight, prevPrompt *Prompt, reply upstreamReply, err error) {
	now := c.now()
	var current *cacheEntry
	if el, ok := c.entries[key]; ok {
		current = el.Value.(*cacheEntry)
	}
	switch {
	case err == nil && reply.notModified:
		if current != nil && current.failing {
			c.log.Info("prompt registry answers again", "slug", slug, "registry", c.upstream.host)
		}
		c.store(&cacheEntry{key: key, prompt: prevPrompt, etag: reply.etag, expires: now.Add(c.opts.TTL)})
		f.prompt = prevPrompt
	case err == nil:
		if current != nil && current.failing {
			c.log.Info("prompt registry answers again", "slug", slug, "registry", c.upstream.host)
		}
		c.store(&cacheEntry{key: key, prompt: reply.prompt, etag: reply.etag, expires: now.Add(c.opts.TTL)})
		f.prompt = reply.prompt
	case errors.Is(err, ErrNotFound):
		if c.opts.NegativeTTL > 0 {
			c.store(&cacheEntry{key: key, expires: now.Add(c.opts.NegativeTTL)})
		} else {
			c.remove(key)
		}
		f.err = err
	case errors.Is(err, ErrRejected) && c.upstream.passCallerKey:
		// This caller's key is refused: what it was allowed to see before is not served to it
		// any longer.
		c.remove(key)
		f.err = err
	case current != nil && current.prompt != nil && now.Before(current.expires.Add(c.opts.StaleIfError)):
		if !current.failing {
			c.log.Warn("prompt registry failed; serving the cached prompt stale",
				"slug", slug, "registry", c.upstream.host, "stale_until", current.expires.Add(c.opts.StaleIfError), "error", err)
		}
		current.failing = true
		current.retryAt = now.Add(staleRetryInterval)
		f.prompt, f.stale = current.prompt, true
	default:
		// An entry past its stale window stays: its pinned versions are still good, and the
		// LRU bound decides when it goes.
		f.err = err
	}
}

// store inserts or replaces e and evicts the least recently used entries over the bound.
// c.mu is held.
func (c *Cache) store(e *cacheEntry) {
	if el, ok := c.entries[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
	} else {
		c.entries[e.key] = c.lru.PushFront(e)
	}
	for c.lru.Len() > c.opts.MaxEntries {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}

// remove drops key's entry. c.mu is held.
func (c *Cache) remove(key string) {
	if el, ok := c.entries[key]; ok {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
}
