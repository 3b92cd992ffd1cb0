package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestHTTPSource(t *testing.T, base string, o HTTPOptions) *HTTPSource {
	t.Helper()
	o.BaseURL = base
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	s, err := NewHTTPSource(o)
	if err != nil {
		t.Fatalf("NewHTTPSource: %v", err)
	}
	return s
}

func TestHTTPSourceDecodesTheVersionedShape(t *testing.T) {
	up := newFakeRegistry(t, serveJSON(200, versionedPrompt))
	src := newTestHTTPSource(t, up.srv.URL, HTTPOptions{})

	p, err := src.Get(context.Background(), "welcome", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "pr_1" || p.Name != "Welcome" || p.CurrentVersion != 2 || len(p.Versions) != 2 {
		t.Fatalf("prompt = %+v", p)
	}
	v, ok := p.Version(0)
	if !ok || v.Version != 2 || v.Model != "claude-sonnet-4" || v.Provider != "anthropic" {
		t.Fatalf("current version = %+v", v)
	}
	if v.Temperature == nil || *v.Temperature != 0.3 || v.MaxOutputTokens != 50 || v.TopP == nil || *v.TopP != 0.9 ||
		len(v.StopSequences) != 1 || len(v.Messages) != 2 || v.Messages[1].Content != "Hello {{name}}" {
		t.Fatalf("version 2 settings lost: %+v", v)
	}
	if got := up.requests()[0].Path; got != "/api/v1/prompts/welcome" {
		t.Errorf("path = %q", got)
	}
}

func TestHTTPSourceDecodesTheFlatShape(t *testing.T) {
	cases := []struct {
		name        string
		body        string
		wantVersion int
	}{
		{"with currentVersion", `{"slug":"flat","name":"Flat","currentVersion":3,"model":"gpt-4o","provider":"openai",` +
			`"variables":["who"],"content":[{"role":"system","content":"S"},{"role":"user","content":"Hi {{who}}"}]}`, 3},
		{"without currentVersion", `{"slug":"flat","model":"gpt-4o","content":[{"role":"user","content":"Hi {{who}}"}]}`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeRegistry(t, serveJSON(200, tc.body))
			p, err := newTestHTTPSource(t, up.srv.URL, HTTPOptions{}).Get(context.Background(), "flat", "")
			if err != nil {
				t.Fatal(err)
			}
			if p.CurrentVersion != tc.wantVersion || len(p.Versions) != 1 {
				t.Fatalf("prompt = %+v", p)
			}
			v, _ := p.Version(0)
			if v.Version != tc.wantVersion || v.Model != "gpt-4o" || v.Messages[len(v.Messages)-1].Content != "Hi {{who}}" {
				t.Fatalf("version = %+v", v)
			}
			if got := Variables(v.Messages); len(got) != 1 || got[0] != "who" {
				t.Errorf("variables = %v", got)
			}
		})
	}
}

// tracegate serves the versioned and the flat fields at once; the versions are the truth.
func TestHTTPSourcePrefersVersionsWhenBothShapesArePresent(t *testing.T) {
	body := `{"slug":"both","currentVersion":2,"model":"flat-model","content":[{"role":"user","content":"flat"}],` +
		`"versions":[{"version":1,"model":"m1","messages":[{"role":"user","content":"one"}]},` +
		`{"version":2,"model":"m2","messages":[{"role":"user","content":"two"}]}]}`
	up := newFakeRegistry(t, serveJSON(200, body))
	p, err := newTestHTTPSource(t, up.srv.URL, HTTPOptions{}).Get(context.Background(), "both", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != 2 {
		t.Fatalf("versions = %+v", p.Versions)
	}
	if v, _ := p.Version(1); v.Messages[0].Content != "one" {
		t.Errorf("version 1 = %+v", v)
	}
}

func TestHTTPSourceKeepsTheBasePath(t *testing.T) {
	up := newFakeRegistry(t, serveJSON(200, promptWith("a.b_c-1", "x")))
	src := newTestHTTPSource(t, up.srv.URL+"/tenant/7/", HTTPOptions{})
	if _, err := src.Get(context.Background(), "a.b_c-1", ""); err != nil {
		t.Fatal(err)
	}
	if got := up.requests()[0].Path; got != "/tenant/7/api/v1/prompts/a.b_c-1" {
		t.Errorf("path = %q", got)
	}
}

func TestHTTPSourceAuthModes(t *testing.T) {
	const configured, caller = "sk-configured-1111", "sk-caller-2222"
	cases := []struct {
		name      string
		opts      HTTPOptions
		callerKey string
		want      []string
	}{
		{"configured key ignores the caller's", HTTPOptions{APIKey: configured}, caller, []string{"Bearer " + configured}},
		{"caller key passed through", HTTPOptions{PassCallerKey: true}, caller, []string{"Bearer " + caller}},
		{"no caller key, nothing sent", HTTPOptions{PassCallerKey: true}, "", nil},
		{"no key at all", HTTPOptions{}, caller, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeRegistry(t, serveJSON(200, promptWith("p", "x")))
			src := newTestHTTPSource(t, up.srv.URL, tc.opts)
			if _, err := src.Get(context.Background(), "p", tc.callerKey); err != nil {
				t.Fatal(err)
			}
			if _, err := src.List(context.Background(), tc.callerKey); err == nil {
				t.Fatal("List of a prompt body should fail to decode as a list")
			}
			for i, r := range up.requests() {
				if strings.Join(r.Authorization, "|") != strings.Join(tc.want, "|") {
					t.Errorf("request %d Authorization = %q, want %q", i, r.Authorization, tc.want)
				}
			}
		})
	}
}

func TestNewHTTPSourceRejectsBadOptions(t *testing.T) {
	cases := map[string]HTTPOptions{
		"both keys":     {BaseURL: "http://127.0.0.1:1", APIKey: "k", PassCallerKey: true},
		"no scheme":     {BaseURL: "127.0.0.1:1"},
		"ftp":           {BaseURL: "ftp://example.com"},
		"no host":       {BaseURL: "http://"},
		"unparseable":   {BaseURL: "http://[::1"},
		"empty":         {BaseURL: ""},
		"relative path": {BaseURL: "/prompts"},
	}
	for name, o := range cases {
		if _, err := NewHTTPSource(o); err == nil {
			t.Errorf("%s: NewHTTPSource(%+v) accepted", name, o)
		}
	}
}

func TestHTTPSourceMapsUpstreamStatuses(t *testing.T) {
	const key = "sk-secret-configured-9999"
	cases := []struct {
		status        int
		body          string
		isNotFound    bool
		isRejected    bool
		wantInMsg     string
		isUnavailable bool
	}{
		{404, `{"error":{"code":"NOT_FOUND","message":"no such prompt"}}`, true, false, "404", false},
		{401, `{"error":{"code":"UNAUTHORIZED","message":"bad key"}}`, false, true, "401: bad key", true},
		{403, ``, false, true, "403", true},
		{500, `{"error":{"code":"UNKNOWN","message":"db down"}}`, false, false, "500: db down", true},
		{503, `<html>busy</html>`, false, false, "503", true},
		{429, ``, false, false, "429", true},
	}
	for _, tc := range cases {
		up := newFakeRegistry(t, serveJSON(tc.status, tc.body))
		_, err := newTestHTTPSource(t, up.srv.URL, HTTPOptions{APIKey: key}).Get(context.Background(), "p", "")
		if err == nil {
			t.Fatalf("%d: no error", tc.status)
		}
		if errors.Is(err, ErrNotFound) != tc.isNotFound || errors.Is(err, ErrRejected) != tc.isRejected ||
			errors.Is(err, ErrUnavailable) != tc.isUnavailable {
			t.Errorf("%d: error %q classified wrong", tc.status, err)
		}
		if !strings.Contains(err.Error(), tc.wantInMsg) {
			t.Errorf("%d: error %q does not say %q", tc.status, err, tc.wantInMsg)
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("%d: error leaks the key: %q", tc.status, err)
		}
	}
}

func TestHTTPSourceConnectionRefusedIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = newTestHTTPSource(t, "http://"+addr, HTTPOptions{}).Get(context.Background(), "p", "")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestHTTPSourceTimeoutIsErrTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := newFakeRegistry(t, hang(release))
	src := newTestHTTPSource(t, up.srv.URL, HTTPOptions{Timeout: 50 * time.Millisecond})
	var err error
	within(t, "Get against a hanging registry", func() { _, err = src.Get(context.Background(), "p", "") })
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "50ms") {
		t.Errorf("error %q does not name the timeout", err)
	}
}

func TestHTTPSourceRejectsMalformedBodies(t *testing.T) {
	cases := map[string]string{
		"not json":           `<html>oops</html>`,
		"empty":              ``,
		"null":               `null`,
		"array":              `[]`,
		"no versions":        `{"slug":"p","name":"P"}`,
		"empty versions":     `{"slug":"p","versions":[]}`,
		"other slug":         promptWith("other", "x"),
		"bad role":           `{"slug":"p","versions":[{"version":1,"messages":[{"role":"wizard","content":"x"}]}]}`,
		"tool role":          `{"slug":"p","versions":[{"version":1,"messages":[{"role":"tool","content":"x"}]}]}`,
		"no messages":        `{"slug":"p","versions":[{"version":1,"model":"m","messages":[]}]}`,
		"version zero":       `{"slug":"p","versions":[{"version":0,"messages":[{"role":"user","content":"x"}]}]}`,
		"duplicate versions": `{"slug":"p","versions":[{"version":1,"messages":[{"role":"user","content":"x"}]},{"version":1,"messages":[{"role":"user","content":"y"}]}]}`,
		"missing current":    `{"slug":"p","currentVersion":9,"versions":[{"version":1,"messages":[{"role":"user","content":"x"}]}]}`,
		"content not string": `{"slug":"p","versions":[{"version":1,"messages":[{"role":"user","content":{"a":1}}]}]}`,
		"truncated":          `{"slug":"p","versions":[{"version":1,`,
		"flat bad role":      `{"slug":"p","content":[{"role":"robot","content":"x"}]}`,
		"too large":          `{"slug":"p","description":"` + strings.Repeat("a", maxUpstreamBody) + `"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			up := newFakeRegistry(t, serveJSON(200, body))
			_, err := newTestHTTPSource(t, up.srv.URL, HTTPOptions{}).Get(context.Background(), "p", "")
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), "unusable prompt") && !strings.Contains(err.Error(), "more than") {
				t.Errorf("error %q does not say what is wrong", err)
			}
		})
	}
}

func TestHTTPSourceList(t *testing.T) {
	up := newFakeRegistry(t, serveJSON(200, `{"prompts":[
		{"id":"1","slug":"b","name":"B","description":"second","currentVersion":2,"createdAt":"c","updatedAt":"u"},
		{"id":"2","slug":"a","currentVersion":1},
		{"id":"3","slug":"../etc/passwd","currentVersion":1}]}`))
	src := newTestHTTPSource(t, up.srv.URL, HTTPOptions{APIKey: "k"})
	list, err := src.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Slug != "b" || list[0].CurrentVersion != 2 || list[0].Description != "second" ||
		list[1].Slug != "a" || list[1].Name != "a" {
		t.Fatalf("list = %+v %+v", list[0], list[1])
	}
	if got := up.requests()[0]; got.Path != "/api/v1/prompts" || strings.Join(got.Authorization, "") != "Bearer k" {
		t.Errorf("request = %+v", got)
	}

	for _, body := range []string{`{}`, `{"prompts":{}}`, `nope`} {
		up.setHandler(serveJSON(200, body))
		if _, err := src.List(context.Background(), ""); !errors.Is(err, ErrUnavailable) {
			t.Errorf("list body %q: err = %v, want ErrUnavailable", body, err)
		}
	}
	up.setHandler(serveJSON(http.StatusBadGateway, ``))
	if _, err := src.List(context.Background(), ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("502: err = %v, want ErrUnavailable", err)
	}
}
