package responses

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A request Codex CLI 0.169 sent on its second turn (recorded through tracegate): developer
// instructions, the user turn, its exec_command call and the tool's output, function tools,
// a namespace of tools and the hosted web_search.
func TestDecodeCodexRequest(t *testing.T) {
	r, err := DecodeRequest(readFixture(t, "codex_tool_turn.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	q := r.LLM
	if q.Model != "gpt-5.4" || !q.Stream || r.Store || q.ParallelToolCalls == nil || !*q.ParallelToolCalls {
		t.Errorf("settings: model %q stream %v store %v", q.Model, q.Stream, r.Store)
	}
	if q.Reasoning == nil || q.Reasoning.Summary != "auto" {
		t.Errorf("reasoning %+v", q.Reasoning)
	}
	if len(r.DroppedTools) != 1 || r.DroppedTools[0] != "web_search" {
		t.Errorf("dropped %v", r.DroppedTools)
	}
	names := map[string]bool{}
	for _, tl := range q.Tools {
		names[tl.Name] = true
		if len(tl.Parameters) == 0 && tl.Name == "exec_command" {
			t.Errorf("exec_command lost its parameters")
		}
	}
	if !names["exec_command"] || len(r.Namespaces) == 0 {
		t.Errorf("tools %v, namespaces %v", names, r.Namespaces)
	}
	for name, ns := range r.Namespaces {
		if ns != "multi_agent_v1" || !names[name] {
			t.Errorf("namespaced tool %q in %q not flattened", name, ns)
		}
	}
	roles := []llm.Role{}
	for _, m := range q.Messages {
		roles = append(roles, m.Role)
	}
	want := []llm.Role{llm.RoleDeveloper, llm.RoleDeveloper, llm.RoleUser, llm.RoleUser, llm.RoleAssistant, llm.RoleTool}
	if len(roles) != len(want) {
		t.Fatalf("roles %v, want %v", roles, want)
	}
	for i := range want {
		if roles[i] != want[i] {
			t.Fatalf("roles %v, want %v", roles, want)
		}
	}
	call := q.Messages[4].ToolCalls()
	if len(call) != 1 || call[0].ID != "call_fake1" || call[0].Name != "exec_command" || string(call[0].Arguments) != `{"cmd":"echo codexcheck-tool-ran"}` {
		t.Errorf("call %+v", call)
	}
	res := q.Messages[5]
	if res.ToolCallID != "call_fake1" || res.ToolName != "exec_command" || !strings.Contains(res.Text(), "codexcheck-tool-ran") {
		t.Errorf("tool result %+v", res)
	}
}

func TestDecodeItems(t *testing.T) {
	body := `{"model":"m","instructions":"Be brief.","max_output_tokens":100,"temperature":0.2,"top_p":0.9,
	"user":"u1","metadata":{"k":"v"},"reasoning":{"effort":"high"},
	"text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
	"tool_choice":{"type":"function","name":"f"},
	"tools":[{"type":"function","name":"f","parameters":{"type":"object"}},{"type":"file_search","vector_store_ids":["v"]},
	  {"type":"namespace","name":"crm","description":"d","tools":[{"type":"function","name":"lookup"}]}],
	"input":[
	  {"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0K","detail":"low"},{"type":"input_image","image_url":"https://example.com/a.png"}]},
	  {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}],"encrypted_content":"sig-1"},
	  {"type":"message","role":"assistant","content":[{"type":"output_text","text":"calling"}]},
	  {"type":"function_call","call_id":"c1","name":"f","arguments":""},
	  {"type":"web_search_call","id":"ws_1","status":"completed"},
	  {"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"42"}]}
	]}`
	r, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	q := r.LLM
	if q.MaxTokens != 100 || *q.Temperature != 0.2 || *q.TopP != 0.9 || q.User != "u1" || string(r.Metadata) != `{"k":"v"}` {
		t.Errorf("settings %+v", q)
	}
	if q.Reasoning == nil || q.Reasoning.Effort != "high" {
		t.Errorf("reasoning %+v", q.Reasoning)
	}
	if f := q.ResponseFormat; f == nil || f.Type != llm.FormatJSONSchema || f.Name != "w" || !f.Strict || string(f.Schema) != `{"type":"object"}` {
		t.Errorf("format %+v", q.ResponseFormat)
	}
	if q.ToolChoice.Mode != llm.ToolChoiceFunction || q.ToolChoice.Name != "f" {
		t.Errorf("tool choice %+v", q.ToolChoice)
	}
	if len(q.Tools) != 2 || q.Tools[1].Name != "lookup" || r.Namespaces["lookup"] != "crm" || len(r.DroppedTools) != 1 || r.DroppedTools[0] != "file_search" {
		t.Errorf("tools %+v dropped %v", q.Tools, r.DroppedTools)
	}
	if len(q.Messages) != 4 {
		t.Fatalf("messages %+v", q.Messages)
	}
	user := q.Messages[1].Parts
	if len(user) != 3 || user[1].Image == nil || user[1].Image.MediaType != "image/png" || user[1].Image.Data != "iVBORw0K" ||
		user[1].Image.Detail != "low" || user[2].Image.URL != "https://example.com/a.png" {
		t.Errorf("user parts %+v", user)
	}
	asst := q.Messages[2].Parts
	if len(asst) != 3 || asst[0].Type != llm.PartReasoning || asst[0].Reasoning.Text != "thinking" || asst[0].Reasoning.Signature != "sig-1" ||
		asst[1].Text != "calling" || asst[2].ToolCall.ID != "c1" || string(asst[2].ToolCall.Arguments) != "{}" {
		t.Errorf("assistant parts %+v", asst)
	}
	if m := q.Messages[3]; m.Role != llm.RoleTool || m.ToolName != "f" || m.Text() != "42" {
		t.Errorf("tool result %+v", m)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`[]`, "JSON object"},
		{`{"input":"x"}`, "model is required"},
		{`{"model":"m","input":5}`, "input must be"},
		{`{"model":"m","input":[{"type":"function_call","name":"f"}]}`, "call_id"},
		{`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]}`, "JSON object"},
		{`{"model":"m","input":[{"role":"robot","content":"x"}]}`, "role"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, "input_file"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`, "file_id"},
		{`{"model":"m","input":[{"type":"item_reference","id":"x"}]}`, "item_reference"},
		{`{"model":"m","max_output_tokens":-1}`, "max_output_tokens"},
		{`{"model":"m","temperature":"hot"}`, "temperature"},
		{`{"model":"m","tool_choice":"sometimes"}`, "tool_choice"},
		{`{"model":"m","tools":[{"type":"function"}]}`, "name is required"},
		{`{"model":"m","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
		{`{"model":"m","reasoning":{"effort":"extreme"}}`, "reasoning.effort"},
		{`{"model":"m","stream":"yes"}`, "stream"},
	} {
		_, err := DecodeRequest([]byte(tc.body))
		if err == nil || !errors.Is(err, llm.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an invalid request error about %q", tc.body, err, tc.want)
		}
	}
}
