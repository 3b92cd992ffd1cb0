package anthropic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func FuzzDecodeMessagesRequest(f *testing.F) {
	addFixtureSeeds(f, requestFixtures...)
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":[{"type":"text","text":"s"}],"messages":[{"role":"system","content":"x"},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}],` +
		`"thinking":{"type":"enabled","budget_tokens":1024},"tool_choice":{"type":"tool","name":"f"},"output_config":{"format":{"type":"json_schema","schema":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeMessagesRequest(body, false)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if req.Model == "" || req.MaxTokens < 1 || len(req.Messages) == 0 {
			t.Fatalf("accepted an incomplete request: %+v", req)
		}
		if _, err := ScanMessagesRequest(body); err != nil {
			t.Fatalf("decoded but the scan rejects it: %v", err)
		}
		for _, m := range req.Messages {
			if !m.Role.Valid() || m.Role == llm.RoleTool && m.ToolCallID == "" {
				t.Fatalf("bad message %+v", m)
			}
			for _, c := range m.ToolCalls() {
				if !json.Valid(c.Arguments) || c.Arguments[0] != '{' {
					t.Fatalf("tool arguments %q are not an object", c.Arguments)
				}
			}
		}
	})
}

// FuzzMessageStreamEncoder drives the encoder with arbitrary event sequences: the output
// must always be a well-formed Messages stream.
func FuzzMessageStreamEncoder(f *testing.F) {
	f.Add([]byte{1, 7, 7, 2, 3, 4, 4, 3, 5, 6})
	f.Add([]byte{2, 7, 2, 3, 2, 4})
	f.Fuzz(func(t *testing.T, script []byte) {
		e := NewMessageStreamEncoder("msg_f", "m")
		var out []byte
		for i, b := range script {
			ev := llm.StreamEvent{Type: llm.StreamEventType(b%7 + 1), Text: "t\"\n", ToolIndex: int(b>>4) % 3, ToolCallID: "call_x", ToolName: "f"}
			if b&8 != 0 {
				ev.Signature = "sig"
			}
			if i%5 == 0 {
				ev.Text = ""
			}
			out = e.Encode(out, ev)
		}
		checkStream(t, e.Finish(out))
	})
}
