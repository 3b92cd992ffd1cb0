package responses

import (
	"bytes"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/sse"
)

func TestScanReply(t *testing.T) {
	s, ok := ScanReply(readFixture(t, "plain_text.response.json"))
	if !ok || s.ID != "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b" || s.Model != "gpt-5.4" || s.Finish != llm.FinishStop {
		t.Errorf("scanned %+v", s)
	}
	if u := s.Usage; !u.Known || u.InputTokens != 36 || u.OutputTokens != 87 || u.TotalTokens() != 123 {
		t.Errorf("usage %+v", u)
	}
	s, _ = ScanReply(readFixture(t, "tool_call.response.json"))
	if s.Finish != llm.FinishToolCalls || s.Usage.InputTokens != 291 {
		t.Errorf("tool call reply %+v", s)
	}
	s, _ = ScanReply([]byte(`{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4},"input_tokens_details":{"cached_tokens":2}}}`))
	if s.Finish != llm.FinishLength || s.Usage.ReasoningTokens != 4 || s.Usage.CacheReadTokens != 2 {
		t.Errorf("incomplete reply %+v", s)
	}
	if _, ok := ScanReply([]byte(`not json`)); ok {
		t.Error("garbage scanned as a reply")
	}
}

func TestScanStream(t *testing.T) {
	rd := sse.NewReader(bytes.NewReader(readFixture(t, "streaming_text.sse")))
	defer rd.Release()
	var created, terminal Scanned
	n := 0
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		s := ScanEvent(ev.Name, ev.Data)
		switch string(ev.Name) {
		case "response.created":
			created = s
		case "response.completed":
			terminal = s
		default:
			if s.Terminal || s.ID != "" || s.Usage.Known {
				t.Errorf("%s scanned as %+v", ev.Name, s)
			}
		}
		n++
	}
	if n != 9 || created.ID != "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654" || created.Terminal {
		t.Errorf("created %+v after %d events", created, n)
	}
	if !terminal.Terminal || terminal.Usage.InputTokens != 37 || terminal.Usage.OutputTokens != 11 || terminal.Err != nil {
		t.Errorf("terminal %+v", terminal)
	}
	// A server that leaves out event lines is read by the data's type.
	s := ScanEvent(nil, []byte(`{"type":"response.failed","sequence_number":3,"response":{"id":"r","status":"failed","error":{"code":"server_error","message":"boom"}}}`))
	if !s.Terminal || s.Err == nil || s.Err.Message != "boom" {
		t.Errorf("failed event %+v", s)
	}
	s = ScanEvent([]byte("error"), []byte(`{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null,"sequence_number":1}`))
	if !s.Terminal || s.Err == nil || s.Err.Code != "rate_limit_exceeded" || s.Err.Message != "slow down" {
		t.Errorf("error event %+v", s.Err)
	}
}
