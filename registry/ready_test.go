package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestReadyWhenTheUpstreamAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		ready  bool
	}{
		{"ok", 200, true},
		{"rejects the probe's missing key", 401, true},
		{"server error", 503, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newCacheFixture(t, serveJSON(c.status, `{"prompts":[]}`), HTTPOptions{}, testCacheOptions)
			err := f.cache.Ready(context.Background())
			if (err == nil) != c.ready {
				t.Fatalf("Ready = %v, want ready=%v", err, c.ready)
			}
			if got := f.up.requests(); len(got) != 1 || got[0].Path != "/api/v1/prompts" {
				t.Fatalf("probe requests %+v", got)
			}
			// The answer is remembered: /readyz polls must not each reach the registry.
			f.cache.Ready(context.Background())
			if n := f.up.count(); n != 1 {
				t.Errorf("%d probe requests for two Ready calls", n)
			}
		})
	}
}

func TestNotReadyWhenTheUpstreamIsDownAndNothingIsCached(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := NewCache(newTestHTTPSource(t, url, HTTPOptions{}), testCacheOptions, discardLog())
	if err := c.Ready(context.Background()); err == nil {
		t.Fatal("ready with a dead registry and a cold cache")
	}
}

func TestReadyWithAWarmCacheWhileTheUpstreamIsDown(t *testing.T) {
	f := newCacheFixture(t, serveJSON(200, promptWith("p", "one")), HTTPOptions{}, testCacheOptions)
	if _, _, err := f.get(t, "p", 0, ""); err != nil {
		t.Fatal(err)
	}
	f.up.srv.Close()
	if err := f.cache.Ready(context.Background()); err != nil {
		t.Fatalf("a warm cache serves runs through an outage: %v", err)
	}
}
