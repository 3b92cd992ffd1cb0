package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

var requestFixtures = []string{"plain_text.request.json", "structured_output.request.json", "tool_call.request.json",
	"tool_result_turn.request.json", "streaming_text.request.json", "streaming_tool_call.request.json",
	"streaming_structured_output.request.json", "error_400_orphan_tool_result.request.json"}

func TestDecodeMessagesRequestFixtures(t *testing.T) {
	for _, name := range requestFixtures {
		body := readFixture(t, name)
		req, err := DecodeMessagesRequest(body, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, err := ScanMessagesRequest(body)
		if err != nil || info.Model != req.Model || info.Stream != req.Stream {
			t.Errorf("%s: scan %+v (%v) vs decode %q stream %v", name, info, err, req.Model, req.Stream)
		}
	}
	req, err := DecodeMessagesRequest(readFixture(t, "tool_result_turn.request.json"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 3 || req.MaxTokens != 512 || len(req.Tools) != 1 {
		t.Fatalf("request = %+v", req)
	}
	call := req.Messages[1].ToolCalls()
	if len(call) != 1 || call[0].ID != "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ" || !json.Valid(call[0].Arguments) {
		t.Errorf("tool call = %+v", call)
	}
	res := req.Messages[2]
	if res.Role != llm.RoleTool || res.ToolCallID != call[0].ID || res.ToolName != "get_weather" || !strings.Contains(res.Text(), "68 degrees") {
		t.Errorf("tool result = %+v", res)
	}
}

func TestDecodeMessagesRequestFields(t *testing.T) {
	body := `{"model":"m","max_tokens":100,"stream":true,"temperature":0.5,"top_p":0.9,"top_k":5,
		"stop_sequences":["\n\nHuman:"],"metadata":{"user_id":"u-1"},"thinking":{"type":"enabled","budget_tokens":2048},
		"system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}],
		"tool_choice":{"type":"any","disable_parallel_tool_use":true},
		"tools":[{"name":"f","description":"d","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
		"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},
		"messages":[
		 {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]},
		 {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"xx"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]},
		 {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":true,"content":"boom"},{"type":"text","text":"again"}]},
		 {"role":"system","content":"mid-conversation note"}]}`
	req, err := DecodeMessagesRequest([]byte(body), false)
	if err != nil {
		t.Fatal(err)
	}
	if *req.Temperature != 0.5 || *req.TopP != 0.9 || *req.TopK != 5 || req.Stop[0] != "\n\nHuman:" || req.User != "u-1" || !req.Stream {
		t.Errorf("sampling = %+v", req)
	}
	if req.Reasoning == nil || req.Reasoning.BudgetTokens != 2048 {
		t.Errorf("reasoning = %+v", req.Reasoning)
	}
	if req.ToolChoice.Mode != llm.ToolChoiceRequired || req.ParallelToolCalls == nil || *req.ParallelToolCalls {
		t.Errorf("tool choice = %+v parallel %v", req.ToolChoice, req.ParallelToolCalls)
	}
	if req.ResponseFormat == nil || req.ResponseFormat.Type != llm.FormatJSONSchema {
		t.Errorf("response format = %+v", req.ResponseFormat)
	}
	roles := []llm.Role{}
	for _, m := range req.Messages {
		roles = append(roles, m.Role)
	}
	want := []llm.Role{llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool, llm.RoleUser, llm.RoleSystem}
	if len(roles) != len(want) {
		t.Fatalf("roles = %v, want %v", roles, want)
	}
	for i := range want {
		if roles[i] != want[i] {
			t.Fatalf("roles = %v, want %v", roles, want)
		}
	}
	if sys := req.Messages[0]; len(sys.Parts) != 2 || sys.Text() != "AB" {
		t.Errorf("system = %+v", sys)
	}
	if img := req.Messages[1].Parts[1]; img.Type != llm.PartImage || img.Image.URL != "https://x/y.png" {
		t.Errorf("image = %+v", img)
	}
	asst := req.Messages[2].Parts
	if asst[0].Reasoning.Signature != "sig" || asst[1].Reasoning.Redacted != "xx" || asst[2].ToolCall.Name != "f" {
		t.Errorf("assistant = %+v", asst)
	}
	if tool := req.Messages[3]; !tool.IsError || tool.Text() != "boom" || tool.ToolName != "f" {
		t.Errorf("tool result = %+v", tool)
	}
}

func TestDecodeMessagesRequestRejects(t *testing.T) {
	for name, body := range map[string]string{
		"not json":           `{`,
		"not an object":      `[]`,
		"no model":           `{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`,
		"no max_tokens":      `{"model":"m","messages":[{"role":"user","content":"x"}]}`,
		"no messages":        `{"model":"m","max_tokens":1}`,
		"empty messages":     `{"model":"m","max_tokens":1,"messages":[]}`,
		"empty user turn":    `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[]}]}`,
		"only system turns":  `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"be brief"}]}`,
		"only empty prefill": `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[]}]}`,
		"bad role":           `{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}`,
		"content number":     `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":3}]}`,
		"unknown block":      `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]}`,
		"tool_use no input":  `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f"}]}]}`,
		"result no id":       `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`,
		"image no data":      `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]}`,
		"server tool":        `{"model":"m","max_tokens":1,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}`,
		"bad tool_choice":    `{"model":"m","max_tokens":1,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]}`,
		"negative temp":      `{"model":"m","max_tokens":1,"temperature":-1,"messages":[{"role":"user","content":"x"}]}`,
		"bad thinking":       `{"model":"m","max_tokens":1,"thinking":{"type":"enabled"},"messages":[{"role":"user","content":"x"}]}`,
		"stop not strings":   `{"model":"m","max_tokens":1,"stop_sequences":[1],"messages":[{"role":"user","content":"x"}]}`,
	} {
		if _, err := DecodeMessagesRequest([]byte(body), false); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := DecodeMessagesRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`), true); err != nil {
		t.Errorf("count_tokens bodies need no max_tokens: %v", err)
	}
}

func TestScanMessagesRequestClaudeCodeUserID(t *testing.T) {
	info, err := ScanMessagesRequest([]byte(`{"model":"m","metadata":{"user_id":"{\"device_id\":\"dev1\",\"account_uuid\":\"\",\"session_id\":\"s-9\"}"}}`))
	if err != nil || info.UserID != "dev1" || info.SessionID != "s-9" {
		t.Errorf("info = %+v, %v", info, err)
	}
	if _, err := ScanMessagesRequest([]byte(`{"model":"m","stream":"yes"}`)); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("stream string: %v", err)
	}
}

func TestEncodeMessage(t *testing.T) {
	resp := &llm.Response{Model: "gpt-4o", Text: "Hi", HasText: true,
		Reasoning:    []llm.Reasoning{{Text: "think", Signature: "s"}},
		ToolCalls:    []llm.ToolCall{{ID: "call 1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{InputTokens: 100, CacheReadTokens: 30, CacheWriteTokens: 10, CacheWrite1hTokens: 5, OutputTokens: 7, Known: true}}
	out := EncodeMessage(nil, resp, "msg_1", "fallback")
	var got struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Content []struct {
			Type, Text, Thinking, Signature, ID, Name string
			Input                                     map[string]any
		} `json:"content"`
		StopReason string         `json:"stop_reason"`
		Usage      map[string]int `json:"usage"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.ID != "msg_1" || got.Model != "gpt-4o" || got.StopReason != "tool_use" || len(got.Content) != 3 {
		t.Fatalf("reply = %s", out)
	}
	if c := got.Content; c[0].Type != "thinking" || c[0].Signature != "s" || c[1].Text != "Hi" || c[2].ID != "toolu_msg_1_0" || c[2].Input["a"] != 1.0 {
		t.Errorf("content = %+v", c)
	}
	// input_tokens excludes cache reads and writes, which the canonical count includes.
	if u := got.Usage; u["input_tokens"] != 55 || u["cache_read_input_tokens"] != 30 || u["cache_creation_input_tokens"] != 15 || u["output_tokens"] != 7 {
		t.Errorf("usage = %v", u)
	}
	for f, want := range map[llm.FinishReason]string{llm.FinishStop: "end_turn", llm.FinishLength: "max_tokens", llm.FinishContentFilter: "refusal"} {
		if got := StopReason(f, ""); got != want {
			t.Errorf("StopReason(%s) = %s, want %s", f, got, want)
		}
	}
	if StopReason(llm.FinishStop, "stop_sequence") != "stop_sequence" {
		t.Errorf("an Anthropic stop reason is kept")
	}
}

// checkStream parses an encoded Messages stream and checks it is well formed: every data
// line is JSON whose type is the event name, blocks open and close in order, and it ends
// with message_delta then message_stop.
func checkStream(t *testing.T, raw []byte) []string {
	t.Helper()
	var names []string
	open := -1
	next := 0
	for _, frame := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n\n")), []byte("\n\n")) {
		name, data, ok := bytes.Cut(frame, []byte("\ndata: "))
		if !ok || !bytes.HasPrefix(name, []byte("event: ")) {
			t.Fatalf("bad frame %q", frame)
		}
		ev := string(name[len("event: "):])
		var v struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
		}
		if err := json.Unmarshal(data, &v); err != nil || v.Type != ev {
			t.Fatalf("event %s data %s: %v", ev, data, err)
		}
		switch ev {
		case "content_block_start":
			if open != -1 || *v.Index != next {
				t.Fatalf("block %d opened with %d open, next %d", *v.Index, open, next)
			}
			open, next = *v.Index, next+1
		case "content_block_stop":
			if *v.Index != open {
				t.Fatalf("block %d closed, %d open", *v.Index, open)
			}
			open = -1
		case "message_delta", "message_stop":
			if open != -1 {
				t.Fatalf("%s with block %d open", ev, open)
			}
		}
		names = append(names, ev)
	}
	if n := len(names); n < 3 || names[0] != "message_start" || names[n-2] != "message_delta" || names[n-1] != "message_stop" {
		t.Fatalf("events = %v", names)
	}
	return names
}

func TestMessageStreamEncoderSequence(t *testing.T) {
	e := NewMessageStreamEncoder("msg_x", "m")
	var out []byte
	for _, ev := range []llm.StreamEvent{
		{Type: llm.EventStart, Model: "gpt-4o"},
		{Type: llm.EventReasoning, Text: "a"},
		{Type: llm.EventReasoning, Text: "b", Signature: "sig"},
		{Type: llm.EventText, Text: "Hello"},
		{Type: llm.EventToolCallStart, ToolIndex: 0, ToolCallID: "call_1", ToolName: "f"},
		{Type: llm.EventToolCallDelta, ToolIndex: 0, Text: `{"a":`},
		{Type: llm.EventToolCallDelta, ToolIndex: 0, Text: `1}`},
		{Type: llm.EventToolCallStart, ToolIndex: 1, ToolCallID: "", ToolName: "g"},
		{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls},
		{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4, Known: true}},
	} {
		out = e.Encode(out, ev)
	}
	out = e.Finish(out)
	names := checkStream(t, out)
	want := "message_start ping content_block_start content_block_delta content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	for _, s := range []string{`"model":"gpt-4o"`, `"signature_delta","signature":"sig"`, `"id":"toolu_msg_x_1"`, `"stop_reason":"tool_use"`, `"output_tokens":4`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("stream lacks %s", s)
		}
	}
	// An empty stream is still a well-formed message.
	checkStream(t, NewMessageStreamEncoder("msg_y", "m").Finish(nil))
}

func TestStreamScannerUsage(t *testing.T) {
	var s StreamScanner
	defer s.Release()
	for _, ev := range [][2]string{
		{"message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":3},"output_tokens":1}}}`},
		{"content_block_delta", `not even json: never parsed`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":20}}`},
		{"message_stop", `{"type":"message_stop"}`},
	} {
		if ue := s.Observe([]byte(ev[0]), []byte(ev[1])); ue != nil {
			t.Fatal(ue)
		}
	}
	r := s.Response()
	if !s.Done() || r.Model != "claude-x" || r.FinishReason != llm.FinishLength {
		t.Errorf("response = %+v", r)
	}
	if u := r.Usage; u.InputTokens != 19 || u.CacheReadTokens != 5 || u.CacheWriteTokens != 1 || u.CacheWrite1hTokens != 3 || u.OutputTokens != 20 {
		t.Errorf("usage = %+v", u)
	}
	var e StreamScanner
	if ue := e.Observe([]byte("error"), []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)); ue == nil || ue.Type != "overloaded_error" {
		t.Errorf("error event = %v", ue)
	}
	e.Release()
}

func TestStreamScannerWithoutEventNames(t *testing.T) {
	var s StreamScanner
	defer s.Release()
	s.Observe(nil, []byte(`{"type":"message_start","message":{"model":"c","usage":{"input_tokens":7,"output_tokens":1}}}`))
	s.Observe(nil, []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}`))
	s.Observe(nil, []byte(`{"type":"message_stop"}`))
	if r := s.Response(); !s.Done() || r.Usage.InputTokens != 7 || r.Usage.OutputTokens != 9 {
		t.Errorf("response = %+v done %v", r, s.Done())
	}
}

// The scan reads what a full parse reads: escaped names, the first of a member given twice,
// stream as a boolean or null, and metadata.user_id as a string only.
func TestScanMessagesRequestMembers(t *testing.T) {
	cases := []struct {
		body         string
		model, user  string
		stream, fail bool
	}{
		{body: `{"model":"claude-x","stream":true}`, model: "claude-x", stream: true},
		{body: ` { "stream" : null , "model" : "claude-\u0078" } `, model: "claude-x"},
		{body: `{"model":"first","model":"second"}`, fail: true}, // parsers disagree on which counts
		{body: `{"model":"m","stream":false,"stre\u0061m":true}`, fail: true},
		{body: `{"model":"m","metadata":{},"metadata":{"user_id":"u"}}`, fail: true},
		{body: `{"mod\u0065l":"esc","metadata":{"user_id":"u-1","user_id":"u-2"}}`, model: "esc", user: "u-1"},
		{body: `{"model":"m","metadata":{"user_id":42}}`, model: "m"},
		{body: `{"model":"m","metadata":{"user_id":"a\"b"}}`, model: "m", user: `a"b`},
		{body: `{"model":"m","messages":[{"role":"user","content":"} ] {"}],"stream":true}`, model: "m", stream: true},
		{body: `{"model":""}`, fail: true},
		{body: `{"model":"\u"}`, fail: true},
		{body: `{"model":7}`, fail: true},
		{body: `{"stream":true}`, fail: true},
		{body: `{"model":"m","stream":1}`, fail: true},
		{body: `{"model":"m",}`, fail: true},
		{body: `{"model":"m"} {}`, fail: true},
		{body: `{"model":"m","messages":[}`, fail: true},
		{body: `["model","m"]`, fail: true},
		{body: ``, fail: true},
	}
	for _, c := range cases {
		info, err := ScanMessagesRequest([]byte(c.body))
		if c.fail {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Errorf("%s: %+v, %v; want an invalid-request error", c.body, info, err)
			}
			continue
		}
		if err != nil || info.Model != c.model || info.Stream != c.stream || info.UserID != c.user {
			t.Errorf("%s: %+v, %v; want model %q stream %v user %q", c.body, info, err, c.model, c.stream, c.user)
		}
	}
}
