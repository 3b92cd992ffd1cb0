package registry

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeRegistry is an upstream prompt registry on loopback. Its behaviour is a handler the
// test can swap at any time; it records what each request carried.
type fakeRegistry struct {
	srv *httptest.Server

	mu      sync.Mutex
	handler http.HandlerFunc
	seen    []seenRequest
}

type seenRequest struct {
	Path          string
	Authorization []string // every Authorization header value, to catch "both keys"
	IfNoneMatch   string
}

func newFakeRegistry(t *testing.T, h http.HandlerFunc) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{handler: h}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{
			Path:          r.URL.EscapedPath(),
			Authorization: r.Header.Values("Authorization"),
			IfNoneMatch:   r.Header.Get("If-None-Match"),
		})
		h := f.handler
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistry) setHandler(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

func (f *fakeRegistry) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeRegistry) count() int { return len(f.requests()) }

// serveJSON answers every request with status and body.
func serveJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// hang answers nothing until the client gives up or the test ends.
func hang(release <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// versionedPrompt is a Prompt in the SDK's versioned shape.
const versionedPrompt = `{
  "id": "pr_1", "slug": "welcome", "name": "Welcome", "description": "d",
  "currentVersion": 2,
  "versions": [
    {"version": 1, "model": "gpt-4o-mini", "provider": "openai",
     "messages": [{"id": "m1", "role": "user", "content": "Hi {{name}}"}]},
    {"version": 2, "model": "claude-sonnet-4", "provider": "anthropic", "temperature": 0.3,
     "maxOutputTokens": 50, "topP": 0.9, "stopSequences": ["END"],
     "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello {{name}}"}],
     "createdAt": "2025-01-01T00:00:00Z"}
  ],
  "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-02-01T00:00:00Z",
  "someFutureField": {"x": 1}
}`

// promptWith returns a one-version prompt for slug whose user message is text.
func promptWith(slug, text string) string {
	return `{"slug":"` + slug + `","currentVersion":1,"versions":[{"version":1,"model":"mock-1",` +
		`"messages":[{"role":"user","content":"` + text + `"}]}]}`
}

// fakeClock is a settable clock for the cache, so expiry needs no sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// safety bounds waits that only guard against a hang; no test measures time against it.
const safety = 5 * time.Second

// within runs fn and fails the test if it has not returned after the safety timeout.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(safety):
		t.Fatalf("%s did not complete within %s", what, safety)
	}
}

// eventually polls cond until it holds or the safety timeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, safety)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
