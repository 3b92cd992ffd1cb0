package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A provider that sends a whole stream, [DONE] included, and then keeps the response open:
// the client gets the whole stream at once, and tracegate lets the provider's connection go
// within the exchange's own drain bound (about a second), not when the provider closes.
func TestFinishedStreamLeftOpenByTheProvider(t *testing.T) {
	released := make(chan time.Duration, 1)
	answer := func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`+"\n\ndata: [DONE]\n\n")
		w.(http.Flusher).Flush()
		sent := time.Now()
		select {
		case <-r.Context().Done():
			released <- time.Since(sent)
		case <-time.After(15 * time.Second):
			released <- -1
		}
	}
	h := newHarness(t, harnessOptions{openAIAnswer: answer})
	began := time.Now()
	resp, _ := h.send(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("the client waited %v for a stream the provider had finished", took)
	}
	if held := <-released; held < 0 || held > 5*time.Second {
		t.Fatalf("the provider's response was held %v after its end, want about a second", held)
	}
}
