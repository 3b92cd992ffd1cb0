package anthropic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestVertexMessagesBody(t *testing.T) {
	for in, want := range map[string]string{
		`{"model":"claude-sonnet-4-5@20250929","max_tokens":64,"messages":[{"role":"user","content":"h\u00e9"}],"metadata":{"user_id":"u"}}`: `{"anthropic_version":"vertex-2023-10-16","max_tokens":64,"messages":[{"role":"user","content":"hé"}],"metadata":{"user_id":"u"}}`,
		`{"model":"m"}`:       `{"anthropic_version":"vertex-2023-10-16"}`,
		`{}`:                  `{"anthropic_version":"vertex-2023-10-16"}`,
		` {"stream":true} `:   `{"anthropic_version":"vertex-2023-10-16","stream":true}`,
		`{"a":1,"model":"m"}`: `{"anthropic_version":"vertex-2023-10-16","a":1}`,
		`{"thinking":{"type":"enabled","budget_tokens":1024}}`: `{"anthropic_version":"vertex-2023-10-16","thinking":{"type":"enabled","budget_tokens":1024}}`,
	} {
		got, err := VertexMessagesBody([]byte("prefix"), []byte(in), "vertex-2023-10-16")
		if err != nil || string(got) != "prefix"+want {
			t.Errorf("%s: got %s, %v; want %s", in, got, err, want)
		}
		if !json.Valid(got[len("prefix"):]) {
			t.Errorf("%s: invalid JSON %s", in, got)
		}
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"model":`, `{"n":nan}`} {
		got, err := VertexMessagesBody([]byte("keep"), []byte(bad), "vertex-2023-10-16")
		if !errors.Is(err, llm.ErrInvalidRequest) || string(got) != "keep" {
			t.Errorf("%q: got %q, %v", bad, got, err)
		}
	}
}

func BenchmarkVertexMessagesBody(b *testing.B) {
	body := []byte(`{"model":"claude-sonnet-4-5@20250929","max_tokens":1024,"stream":true,"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":"What is the weather in San Francisco?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}`)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var err error
		if dst, err = VertexMessagesBody(dst[:0], body, "vertex-2023-10-16"); err != nil {
			b.Fatal(err)
		}
	}
}
