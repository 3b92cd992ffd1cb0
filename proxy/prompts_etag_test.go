package proxy

import (
	"net/http"
	"testing"
)

func TestGetPromptETag(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	resp, err := http.Get(h.base + "/api/v1/prompts/greet")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" {
		t.Fatalf("status %d etag %q", resp.StatusCode, etag)
	}
	req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/prompts/greet", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status %d, want 304", resp.StatusCode)
	}
}
