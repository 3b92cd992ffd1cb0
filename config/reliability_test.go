package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProviderBoundsValidatedAndDefaulted(t *testing.T) {
	raw := []byte(`
registry: {sources: [{type: file, path: ./prompts}]}
providers: [{name: mock, type: mock, stream_idle_timeout: -1s, max_response_bytes: -5}]
retry: {max_elapsed: -1s}
`)
	_, err := Parse(raw, envOf(nil))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	for _, want := range []string{"stream_idle_timeout", "max_response_bytes", "retry.max_elapsed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	c, err := Parse([]byte(`
registry: {sources: [{type: file, path: ./prompts}]}
providers: [{name: mock, type: mock}, {name: o, type: openai, api_key: k, timeout: 30s, stream_idle_timeout: 1m, max_response_bytes: 1024}]
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, o := c.Providers[0], c.Providers[1]
	if d.Timeout.D() != 10*time.Minute || d.StreamIdleTimeout.D() != 5*time.Minute || d.MaxResponseBytes != 32<<20 {
		t.Errorf("defaults: %+v", d)
	}
	if o.Timeout.D() != 30*time.Second || o.StreamIdleTimeout.D() != time.Minute || o.MaxResponseBytes != 1024 {
		t.Errorf("set values: %+v", o)
	}
	if c.Retry.MaxElapsed.D() != 10*time.Minute {
		t.Errorf("retry.max_elapsed default %v", c.Retry.MaxElapsed.D())
	}
}
