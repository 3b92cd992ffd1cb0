package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// recordedReply is the wrapper the recorded error fixtures use.
type recordedReply struct {
	StatusCode int               `json:"status_code"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
}

func readRecordedReply(t testing.TB, name string) recordedReply {
	t.Helper()
	var r recordedReply
	if err := json.Unmarshal(readFixture(t, name), &r); err != nil {
		t.Fatalf("parse fixture %s: %v", name, err)
	}
	return r
}

func (r recordedReply) header(name string) string { return r.Headers[name] }

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %v:\n%s", err, b)
	}
	return v
}

// normalizeRequest rewrites a Messages API body into one spelling per meaning, using the API's
// own equivalences: a string content is one text block, the system string is one text block,
// a tool_result string content is one text block, and consecutive same-role messages are one
// turn (the API merges them). Encoder output and recorded fixtures can then be compared with
// reflect.DeepEqual.
func normalizeRequest(body map[string]any) map[string]any {
	if s, ok := body["system"].(string); ok {
		body["system"] = textBlocks(s)
	}
	msgs, _ := body["messages"].([]any)
	var merged []any
	for _, raw := range msgs {
		m := raw.(map[string]any)
		content := normalizeContent(m["content"])
		if n := len(merged); n > 0 {
			last := merged[n-1].(map[string]any)
			if last["role"] == m["role"] {
				last["content"] = append(last["content"].([]any), content...)
				continue
			}
		}
		merged = append(merged, map[string]any{"role": m["role"], "content": content})
	}
	if msgs != nil {
		body["messages"] = merged
	}
	return body
}

func normalizeContent(c any) []any {
	if s, ok := c.(string); ok {
		return textBlocks(s)
	}
	blocks, _ := c.([]any)
	for _, b := range blocks {
		block := b.(map[string]any)
		if s, ok := block["content"].(string); ok && block["type"] == "tool_result" {
			block["content"] = textBlocks(s)
		}
	}
	return blocks
}

func textBlocks(s string) []any {
	return []any{map[string]any{"type": "text", "text": s}}
}

func assertSameJSON(t *testing.T, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("encoded request differs from fixture\n got: %s\nwant: %s", g, w)
	}
}

func ptr[T any](v T) *T { return &v }
