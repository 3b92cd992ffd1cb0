package responses

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest: any body decodes or fails with an error, never a panic, and a decoded
// request re-encodes as valid JSON through the reply encoder's echo.
func FuzzDecodeRequest(f *testing.F) {
	for _, name := range []string{"plain_text.request.json", "streaming_text.request.json", "tool_call.request.json", "codex_tool_turn.request.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"model":"m","input":[{"type":"reasoning","encrypted_content":"tg-redacted:x"},{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}]}`))
	f.Add([]byte(`{"model":"m","tools":[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f"}]}],"text":{"format":{"type":"json_schema","schema":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			return
		}
		m := Meta{ID: "resp_1", Model: r.LLM.Model, Request: r}
		enc := NewStreamEncoder(m)
		out := enc.Finish(nil)
		if len(out) == 0 {
			t.Fatal("no events")
		}
		if raw := EncodeResponse(nil, enc.Response(), &m); !json.Valid(raw) {
			t.Fatalf("invalid response JSON for %s: %s", body, raw)
		}
	})
}

// FuzzScanEvent: the passthrough scanners take any bytes without panicking.
func FuzzScanEvent(f *testing.F) {
	f.Add([]byte("response.completed"), readFixture(f, "plain_text.response.json"))
	f.Add([]byte(""), []byte(`{"type":"response.failed","response":{"status":"failed","error":null}}`))
	f.Add([]byte("error"), []byte(`{"type":"error","error":{"code":"x"}}`))
	f.Fuzz(func(t *testing.T, name, data []byte) {
		_ = ScanEvent(name, data)
		_, _ = ScanReply(data)
	})
}
