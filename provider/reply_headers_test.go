package provider

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestKeptReplyHeadersIsAnAllowListWithBounds(t *testing.T) {
	h := http.Header{}
	h.Set("X-Request-Id", "req_1")
	h.Set("X-RateLimit-Remaining-Tokens", "99")
	h.Set("Retry-After-Ms", "20")
	h.Set("Connection", "keep-alive")
	h.Set("Authorization", "Bearer sk-x")
	h.Set("X-Goog-Api-Key", "AIza")
	h.Set("Set-Cookie", "a=b")
	h.Set("Openai-Processing-Ms", strings.Repeat("9", maxReplyHeaderValue+1)) // too long: dropped
	for i := range maxReplyHeaders + 5 {
		// Past the cap, named headers go first, then rate-limit ones by name (a net/http
		// reply keeps no order): these sort after x-ratelimit-remaining-tokens.
		h.Set("X-Ratelimit-Zz-"+strconv.Itoa(i), "1")
	}
	got := map[string]string{}
	for _, kv := range keptReplyHeaders(h) {
		got[kv.Name] = kv.Value
	}
	if len(got) != maxReplyHeaders {
		t.Errorf("kept %d headers, want the cap %d", len(got), maxReplyHeaders)
	}
	for k, v := range map[string]string{"x-request-id": "req_1", "x-ratelimit-remaining-tokens": "99", "retry-after-ms": "20"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"connection", "authorization", "x-goog-api-key", "set-cookie", "openai-processing-ms"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s kept", k)
		}
	}
}
