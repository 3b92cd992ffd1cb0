package proxy

import (
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func FuzzDecodeRunRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"variables":{"a":"b"},"model":"m","version":2,"tags":["x"],"traceId":"tr_0123456789abcdef"}`,
		`{"messages":[{"role":"assistant","content":[{"type":"tool_call","id":"1","name":"f","arguments":{"a":1}}]},{"role":"tool","toolCallId":"1","content":"ok"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, `[`, `null`, `{"version":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRunRequest(body)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		for _, m := range r.Messages {
			if !m.Role.Valid() {
				t.Fatalf("accepted invalid role %q", m.Role)
			}
		}
	})
}
