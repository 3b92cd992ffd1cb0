package proxy

import (
	"net/http"
	"testing"
)

// A body naming a member tracegate routes or prices by more than once is refused on every
// surface, before any provider is called: parsers disagree on which of the two counts, so
// what tracegate routed and priced and what the upstream would run could differ.
func TestDuplicateMembersAreRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"gpt-4o-mini","model":"anthropic/claude-3-7-sonnet-20250219",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"gpt-4o-mini",` + msgs + `,"stream":false,"stream":true}`},
		{"/v1/responses", `{"model":"gpt-4o-mini","input":"hi","model":"gpt-4o"}`},
		{"/v1/embeddings", `{"model":"openai/text-embedding-3-small","input":"hi","input":["a","b","c"]}`},
		{"/v1/messages", `{"model":"anthropic/claude-3-7-sonnet-20250219","max_tokens":8,` + msgs + `,"model":"anthropic/claude-opus-4-1"}`},
	} {
		status, _, out := h.do(http.MethodPost, c.path, c.body, nil)
		e, _ := out["error"].(map[string]any)
		if status != 400 || e == nil || e["type"] != "invalid_request_error" {
			t.Errorf("%s %s: %d %v", c.path, c.body, status, out)
		}
	}
	if n := len(h.upstream.requests()) + len(h.anthropic.requests()); n != 0 {
		t.Errorf("refused bodies reached a provider %d times", n)
	}
}
