package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

var testCacheOptions = CacheOptions{TTL: time.Minute, StaleIfError: time.Hour, NegativeTTL: 5 * time.Second, MaxEntries: 100}

type cacheFixture struct {
	up    *fakeRegistry
	cache *Cache
	clock *fakeClock
	logs  *syncBuffer
}

func newCacheFixture(t *testing.T, h http.HandlerFunc, httpOpts HTTPOptions, opts CacheOptions) *cacheFixture {
	t.Helper()
	up := newFakeRegistry(t, h)
	logs := &syncBuffer{}
	c := NewCache(newTestHTTPSource(t, up.srv.URL, httpOpts), opts, slog.New(slog.NewTextHandler(logs, nil)))
	clock := newFakeClock()
	c.now = clock.now
	return &cacheFixture{up: up, cache: c, clock: clock, logs: logs}
}

func (f *cacheFixture) get(t *testing.T, slug string, version int, callerKey string) (*Prompt, bool, error) {
	t.Helper()
	var (
		p     *Prompt
		stale bool
		err   error
	)
	within(t, "cache lookup", func() { p, stale, err = f.cache.GetWithState(context.Background(), slug, version, callerKey) })
	return p, stale, err
}

func userText(t *testing.T, p *Prompt) string {
	t.Helper()
	if p == nil {
		t.Fatal("nil prompt")
	}
	v, ok := p.Version(0)
	if !ok {
		t.Fatalf("prompt %q has no current version", p.Slug)
	}
	return v.Messages[len(v.Messages)-1].Content
}

func TestCacheServesFreshEntriesWithoutTheUpstream(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "one")), HTTPOptions{}, testCacheOptions)
	for i := 0; i < 3; i++ {
		p, stale, err := f.get(t, "p", 0, "")
		if err != nil || stale || userText(t, p) != "one" {
			t.Fatalf("get %d: %v stale=%v", i, err, stale)
		}
		f.clock.advance(10 * time.Second)
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times, want 1", n)
	}
}

func TestCacheRefetchesAfterTTL(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "one")), HTTPOptions{}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); err != nil {
		t.Fatal(err)
	}
	f.up.setHandler(serveJSON(200, promptWith("p", "two")))
	f.clock.advance(testCacheOptions.TTL - time.Second)
	if p, _, _ := f.get(t, "p", 0, ""); userText(t, p) != "one" {
		t.Fatal("refetched before the TTL")
	}
	f.clock.advance(2 * time.Second)
	p, stale, err := f.get(t, "p", 0, "")
	if err != nil || stale || userText(t, p) != "two" {
		t.Fatalf("after TTL: %v stale=%v text=%q", err, stale, userText(t, p))
	}
	if n := f.up.count(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2", n)
	}
}

func TestCacheRevalidatesWithETag(t *testing.T) {
	var mu sync.Mutex
	current := `"v1"`
	f := newCacheFixture(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("ETag", current)
		if r.Header.Get("If-None-Match") == current {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(promptWith("p", "body of "+strings.Trim(current, `"`))))
	}, HTTPOptions{}, testCacheOptions)

	if p, _, err := f.get(t, "p", 0, ""); err != nil || userText(t, p) != "body of v1" {
		t.Fatalf("first get: %v", err)
	}
	f.clock.advance(testCacheOptions.TTL + time.Second)
	p, stale, err := f.get(t, "p", 0, "")
	if err != nil || stale || userText(t, p) != "body of v1" {
		t.Fatalf("after 304: %v stale=%v", err, stale)
	}
	// The 304 renewed the TTL: no request until it runs out again.
	f.clock.advance(testCacheOptions.TTL - time.Second)
	f.get(t, "p", 0, "")
	if n := f.up.count(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2", n)
	}
	if got := f.up.requests()[1].IfNoneMatch; got != `"v1"` {
		t.Fatalf("revalidation sent If-None-Match %q", got)
	}

	mu.Lock()
	current = `"v2"`
	mu.Unlock()
	f.clock.advance(2 * time.Second)
	if p, _, err := f.get(t, "p", 0, ""); err != nil || userText(t, p) != "body of v2" {
		t.Fatalf("after change: %v", err)
	}
	if got := f.up.requests()[0].IfNoneMatch; got != "" {
		t.Errorf("first request sent If-None-Match %q with nothing cached", got)
	}
}

func TestCacheSendsOneUpstreamRequestForConcurrentColdLookups(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	f := newCacheFixture(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Write([]byte(promptWith("cold", "x")))
	}, HTTPOptions{}, testCacheOptions)
	reg := New(f.cache)

	const runs = 100
	var started, finished sync.WaitGroup
	errs := make(chan error, runs)
	started.Add(runs)
	finished.Add(runs)
	for i := 0; i < runs; i++ {
		go func() {
			defer finished.Done()
			started.Done()
			res, err := reg.Resolve(context.Background(), "cold", 0, "")
			if err == nil && res.Version.Messages[0].Content != "x" {
				err = fmt.Errorf("wrong prompt %+v", res.Version)
			}
			errs <- err
		}()
	}
	started.Wait()
	select {
	case <-arrived:
	case <-time.After(safety):
		t.Fatal("the upstream was never asked")
	}
	close(release)
	within(t, "100 concurrent lookups", finished.Wait)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times for one cold slug, want 1", n)
	}
}

func TestCacheRemembersNotFound(t *testing.T) {
	f := newCacheFixture(t, serveJSON(404, `{"error":{"code":"NOT_FOUND","message":"nope"}}`), HTTPOptions{}, testCacheOptions)
	for i := 0; i < 3; i++ {
		if _, _, err := f.get(t, "gone", 0, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get %d: %v, want ErrNotFound", i, err)
		}
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times within negative_ttl, want 1", n)
	}
	f.up.setHandler(serveJSON(200, promptWith("gone", "back")))
	f.clock.advance(testCacheOptions.NegativeTTL + time.Second)
	if p, _, err := f.get(t, "gone", 0, ""); err != nil || userText(t, p) != "back" {
		t.Fatalf("after negative_ttl: %v", err)
	}
}

func TestCacheWithoutNegativeTTLAsksEveryTime(t *testing.T) {
	opts := testCacheOptions
	opts.NegativeTTL = 0
	f := newCacheFixture(t, serveJSON(404, ``), HTTPOptions{}, opts)
	f.get(t, "gone", 0, "")
	f.get(t, "gone", 0, "")
	if n := f.up.count(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2", n)
	}
}

func TestCacheDoesNotRememberRejections(t *testing.T) {
	f := newCacheFixture(t, serveJSON(401, `{"error":{"code":"UNAUTHORIZED","message":"bad key"}}`), HTTPOptions{APIKey: "k"}, testCacheOptions)
	for i := 0; i < 2; i++ {
		_, _, err := f.get(t, "p", 0, "")
		if !errors.Is(err, ErrRejected) || errors.Is(err, ErrNotFound) {
			t.Fatalf("get %d: %v, want ErrRejected", i, err)
		}
	}
	if n := f.up.count(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2 (a rejection is not a cached 404)", n)
	}
}

func TestCacheServesStaleWhenTheUpstreamFails(t *testing.T) {
	failures := map[string]func(f *cacheFixture) func(){
		"500":       func(f *cacheFixture) func() { f.up.setHandler(serveJSON(500, `{}`)); return func() {} },
		"malformed": func(f *cacheFixture) func() { f.up.setHandler(serveJSON(200, `{"slug":`)); return func() {} },
		"refused":   func(f *cacheFixture) func() { f.up.srv.Close(); return func() {} },
		"timeout": func(f *cacheFixture) func() {
			release := make(chan struct{})
			f.up.setHandler(hang(release))
			return func() { close(release) }
		},
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			f := newCacheFixture(t, serveJSON(200, promptWith("p", "kept")), HTTPOptions{Timeout: 100 * time.Millisecond}, testCacheOptions)
			reg := New(f.cache)
			if _, err := reg.Resolve(context.Background(), "p", 0, ""); err != nil {
				t.Fatal(err)
			}
			defer fail(f)()

			f.clock.advance(testCacheOptions.TTL + time.Second)
			var (
				res Resolved
				err error
			)
			within(t, "resolve during the outage", func() { res, err = reg.Resolve(context.Background(), "p", 0, "") })
			if err != nil || !res.Stale || res.Version.Messages[0].Content != "kept" {
				t.Fatalf("during outage: err=%v res=%+v", err, res)
			}
			if !strings.Contains(f.logs.String(), "serving the cached prompt stale") {
				t.Errorf("the outage was not logged: %s", f.logs.String())
			}

			// Past the stale-if-error window the cached copy is no longer served.
			f.clock.advance(testCacheOptions.StaleIfError)
			within(t, "resolve past the window", func() { res, err = reg.Resolve(context.Background(), "p", 0, "") })
			if err == nil {
				t.Fatalf("served %+v past stale_if_error", res)
			}
			if name == "timeout" {
				if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
			} else if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestCacheWithNothingCachedReportsTheFailure(t *testing.T) {
	f := newCacheFixture(t, serveJSON(502, ``), HTTPOptions{}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("502: %v, want ErrUnavailable", err)
	}

	release := make(chan struct{})
	defer close(release)
	f = newCacheFixture(t, hang(release), HTTPOptions{Timeout: 50 * time.Millisecond}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hang: %v, want ErrTimeout", err)
	}
}

// Once a refresh has failed, lookups get the stale copy at once and the upstream is retried in
// the background, at most once per retry interval; when it answers again, fresh copies return.
func TestCacheDoesNotWaitOnAFailingUpstreamTwice(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "old")), HTTPOptions{Timeout: 100 * time.Millisecond}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	f.up.setHandler(hang(release))
	f.clock.advance(testCacheOptions.TTL + time.Second)
	if _, stale, err := f.get(t, "p", 0, ""); err != nil || !stale {
		t.Fatalf("first lookup of the outage: err=%v stale=%v", err, stale)
	}

	// Within the retry interval: served stale, the hanging upstream is not asked.
	for i := 0; i < 5; i++ {
		if p, stale, err := f.get(t, "p", 0, ""); err != nil || !stale || userText(t, p) != "old" {
			t.Fatalf("lookup %d: err=%v stale=%v", i, err, stale)
		}
	}
	if n := f.up.count(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2", n)
	}

	// After it, a lookup is still served stale at once and starts one background refresh,
	// which finds the upstream back.
	f.up.setHandler(serveJSON(200, promptWith("p", "new")))
	f.clock.advance(staleRetryInterval)
	if p, stale, err := f.get(t, "p", 0, ""); err != nil || !stale || userText(t, p) != "old" {
		t.Fatalf("lookup starting the refresh: err=%v stale=%v", err, stale)
	}
	eventually(t, "background refresh", func() bool {
		p, stale, err := f.get(t, "p", 0, "")
		return err == nil && !stale && userText(t, p) == "new"
	})
	if n := f.up.count(); n != 3 {
		t.Fatalf("upstream asked %d times, want 3", n)
	}
	if !strings.Contains(f.logs.String(), "answers again") {
		t.Errorf("recovery not logged: %s", f.logs.String())
	}
}

func TestCacheServesFreshEntriesWhileTheUpstreamHangs(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "x")), HTTPOptions{Timeout: time.Hour}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	f.up.setHandler(hang(release))
	reg := New(f.cache)
	var err error
	within(t, "a run of a cached slug while the registry hangs", func() { _, err = reg.Resolve(context.Background(), "p", 0, "") })
	if err != nil {
		t.Fatal(err)
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times, want 1", n)
	}
}

func TestCacheServesPinnedVersionsPastEveryWindow(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, versionedPrompt), HTTPOptions{}, testCacheOptions)
	reg := New(f.cache)
	if _, err := reg.Resolve(context.Background(), "welcome", 0, ""); err != nil {
		t.Fatal(err)
	}
	f.up.setHandler(serveJSON(500, ``))
	f.clock.advance(testCacheOptions.TTL + testCacheOptions.StaleIfError + time.Hour)

	for _, version := range []int{1, 2} {
		res, err := reg.Resolve(context.Background(), "welcome", version, "")
		if err != nil || res.Stale || res.Version.Version != version {
			t.Fatalf("pinned version %d: err=%v res=%+v", version, err, res)
		}
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times for pinned versions, want 1", n)
	}
	// The current version is not immutable: past every window it needs the upstream.
	if _, err := reg.Resolve(context.Background(), "welcome", 0, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("current version past the window: %v, want ErrUnavailable", err)
	}
	// A version the cached copy lacks is fetched, and the failure reported.
	if _, err := reg.Resolve(context.Background(), "welcome", 3, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("uncached version: %v, want ErrUnavailable", err)
	}
	// Those failures did not throw the cached versions away.
	if res, err := reg.Resolve(context.Background(), "welcome", 1, ""); err != nil || res.Version.Version != 1 {
		t.Fatalf("pinned version 1 after failed refreshes: %v", err)
	}
	if n := f.up.count(); n != 3 {
		t.Fatalf("upstream asked %d times, want 3", n)
	}
}

func TestCacheUnknownVersionOfAFreshPromptIsNotFound(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, versionedPrompt), HTTPOptions{}, testCacheOptions)
	reg := New(f.cache)
	if _, err := reg.Resolve(context.Background(), "welcome", 7, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 7: %v, want ErrNotFound", err)
	}
	if _, err := reg.Resolve(context.Background(), "welcome", 8, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 8: %v, want ErrNotFound", err)
	}
	if n := f.up.count(); n != 1 {
		t.Fatalf("upstream asked %d times, want 1", n)
	}
}

func TestCacheKeysEntriesByCallerKeyWhenPassingItThrough(t *testing.T) {
	const alice, bob = "sk-alice-secret-1", "sk-bob-secret-2"
	f := newCacheFixture(t, func(w http.ResponseWriter, r *http.Request) {
		who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Write([]byte(promptWith("p", "for "+who)))
	}, HTTPOptions{PassCallerKey: true}, testCacheOptions)

	for round := 0; round < 2; round++ {
		for _, key := range []string{alice, bob} {
			p, _, err := f.get(t, "p", 0, key)
			if err != nil || userText(t, p) != "for "+key {
				t.Fatalf("round %d key %s: err=%v", round, key, err)
			}
		}
	}
	reqs := f.up.requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream asked %d times, want one per caller", len(reqs))
	}
	for i, want := range []string{alice, bob} {
		if got := reqs[i].Authorization; len(got) != 1 || got[0] != "Bearer "+want {
			t.Errorf("request %d Authorization = %q", i, got)
		}
	}
	f.cache.mu.Lock()
	for key := range f.cache.entries {
		if strings.Contains(key, alice) || strings.Contains(key, bob) {
			t.Errorf("cache key holds a caller key: %q", key)
		}
	}
	f.cache.mu.Unlock()
	if strings.Contains(f.logs.String(), "secret") {
		t.Errorf("logs mention a key: %s", f.logs.String())
	}
}

func TestCacheDropsAPassedThroughKeyTheUpstreamRejects(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "x")), HTTPOptions{PassCallerKey: true}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, "sk-revoked"); err != nil {
		t.Fatal(err)
	}
	f.up.setHandler(serveJSON(401, ``))
	f.clock.advance(testCacheOptions.TTL + time.Second)
	if p, stale, err := f.get(t, "p", 0, "sk-revoked"); !errors.Is(err, ErrRejected) {
		t.Fatalf("revoked key: p=%v stale=%v err=%v, want ErrRejected", p, stale, err)
	}
}

func TestCacheConfiguredKeyRejectionServesStale(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "x")), HTTPOptions{APIKey: "sk-rotated"}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); err != nil {
		t.Fatal(err)
	}
	f.up.setHandler(serveJSON(403, ``))
	f.clock.advance(testCacheOptions.TTL + time.Second)
	if _, stale, err := f.get(t, "p", 0, ""); err != nil || !stale {
		t.Fatalf("err=%v stale=%v, want the stale copy", err, stale)
	}
}

func TestCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	opts := testCacheOptions
	opts.MaxEntries = 2
	f := newCacheFixture(t, func(w http.ResponseWriter, r *http.Request) {
		slug := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		w.Write([]byte(promptWith(slug, slug)))
	}, HTTPOptions{}, opts)
	asked := func() int { return f.up.count() }

	for _, slug := range []string{"a", "b", "c"} { // a is evicted by c
		f.get(t, slug, 0, "")
	}
	f.get(t, "b", 0, "") // hit; b is now the most recent
	if n := asked(); n != 3 {
		t.Fatalf("after a, b, c, b: asked %d, want 3", n)
	}
	f.get(t, "a", 0, "") // miss: evicts c
	if n := asked(); n != 4 {
		t.Fatalf("a was not evicted: asked %d, want 4", n)
	}
	f.get(t, "b", 0, "") // still cached
	if n := asked(); n != 4 {
		t.Fatalf("b was evicted: asked %d, want 4", n)
	}
	f.get(t, "c", 0, "")
	if n := asked(); n != 5 {
		t.Fatalf("c was not evicted: asked %d, want 5", n)
	}
	f.cache.mu.Lock()
	defer f.cache.mu.Unlock()
	if len(f.cache.entries) != 2 || f.cache.lru.Len() != 2 {
		t.Fatalf("cache holds %d entries (%d in LRU), want 2", len(f.cache.entries), f.cache.lru.Len())
	}
}

func TestCacheLookupGivesUpWithItsCaller(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newCacheFixture(t, hang(release), HTTPOptions{Timeout: time.Hour}, testCacheOptions)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	within(t, "a cancelled lookup", func() { _, _, err = f.cache.GetWithState(ctx, "p", 0, "") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRegistryTriesSourcesInOrder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "local.yaml", "versions: [{version: 1, model: m, messages: [{role: user, content: from file}]}]\n")
	writeFile(t, dir, "both.yaml", "versions: [{version: 1, model: m, messages: [{role: user, content: from file}]}]\n")
	up := newFakeRegistry(t, func(w http.ResponseWriter, r *http.Request) {
		slug := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if slug == "local" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write([]byte(promptWith(slug, "from upstream")))
	})
	reg := New(NewFileSource(dir, discardLog()), NewCache(newTestHTTPSource(t, up.srv.URL, HTTPOptions{}), testCacheOptions, discardLog()))

	for slug, want := range map[string]string{"local": "from file", "both": "from file", "remote": "from upstream"} {
		res, err := reg.Resolve(context.Background(), slug, 0, "")
		if err != nil {
			t.Fatalf("%s: %v", slug, err)
		}
		if got := res.Version.Messages[0].Content; got != want {
			t.Errorf("%s: served %q, want %q", slug, got, want)
		}
	}
	if reqs := up.requests(); len(reqs) != 1 || reqs[0].Path != "/api/v1/prompts/remote" {
		t.Fatalf("upstream requests = %+v, want only remote", reqs)
	}
}

// syncBuffer is a log sink safe for the cache's background goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
