package responses

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/responses"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func testMeta() Meta {
	return Meta{ID: "resp_tg1", CreatedAt: 1741290958, Model: "claude-sonnet-4-5"}
}

// encodeStream runs events through a stream encoder and ends it with finish.
func encodeStream(events []llm.StreamEvent, finish func(e *StreamEncoder, dst []byte) []byte) ([]byte, *StreamEncoder) {
	e := NewStreamEncoder(testMeta())
	var out []byte
	for _, ev := range events {
		out = e.Encode(out, ev)
	}
	return finish(e, out), e
}

// checkWire parses a stream as the official client would and checks the sequence numbers,
// each event's type against its event line, and that exactly one terminal event ends it.
func checkWire(t *testing.T, raw []byte) []responses.ResponseStreamEventUnion {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(raw))
	defer rd.Release()
	var evs []responses.ResponseStreamEventUnion
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		var u responses.ResponseStreamEventUnion
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatalf("event %s: %v", ev.Name, err)
		}
		if u.Type != string(ev.Name) || u.SequenceNumber != int64(len(evs)) {
			t.Errorf("event %q has type %q and sequence_number %d at %d", ev.Name, u.Type, u.SequenceNumber, len(evs))
		}
		evs = append(evs, u)
	}
	terminal := 0
	for _, u := range evs {
		if u.Type == "response.completed" || u.Type == "response.incomplete" || u.Type == "response.failed" {
			terminal++
		}
	}
	if terminal != 1 || len(evs) == 0 || !strings.HasPrefix(evs[len(evs)-1].Type, "response.") || evs[len(evs)-1].Response.ID == "" {
		t.Errorf("want one terminal event at the end, got %d", terminal)
	}
	return evs
}

// Every event type the encoder emits: reasoning summary, text and function call items.
func TestStreamAllEventTypes(t *testing.T) {
	events := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_up", Model: "claude-sonnet-4-5-20250929"},
		{Type: llm.EventReasoning, Text: "The user wants "},
		{Type: llm.EventReasoning, Text: "the weather."},
		{Type: llm.EventReasoning, Signature: "sig-abc"},
		{Type: llm.EventText, Text: "Let me "},
		{Type: llm.EventText, Text: "check."},
		{Type: llm.EventToolCallStart, ToolIndex: 0, ToolCallID: "toolu_1", ToolName: "get_weather"},
		{Type: llm.EventToolCallDelta, ToolIndex: 0, Text: `{"city":`},
		{Type: llm.EventToolCallDelta, ToolIndex: 0, Text: `"Paris"}`},
		{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls, RawFinishReason: "tool_use"},
		{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: 100, OutputTokens: 40, CacheReadTokens: 20, ReasoningTokens: 12, Known: true}},
	}
	raw, enc := encodeStream(events, (*StreamEncoder).Finish)
	golden(t, "stream_reasoning_text_tool.sse", raw)
	evs := checkWire(t, raw)
	var types []string
	for _, u := range evs {
		types = append(types, u.Type)
	}
	want := "response.created response.in_progress " +
		"response.output_item.added response.reasoning_summary_part.added response.reasoning_summary_text.delta response.reasoning_summary_text.delta response.reasoning_summary_text.done response.reasoning_summary_part.done response.output_item.done " +
		"response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done " +
		"response.output_item.added response.function_call_arguments.delta response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done " +
		"response.completed"
	if strings.Join(types, " ") != want {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(types, " "), want)
	}
	final := evs[len(evs)-1].Response
	if final.Status != "completed" || final.Model != "claude-sonnet-4-5-20250929" || len(final.Output) != 3 ||
		final.Output[0].EncryptedContent != "sig-abc" || final.Output[1].Content[0].Text != "Let me check." ||
		final.Output[2].Arguments.OfString != `{"city":"Paris"}` || final.Output[2].CallID != "toolu_1" {
		t.Errorf("final response %+v", final)
	}
	if u := final.Usage; u.InputTokens != 100 || u.InputTokensDetails.CachedTokens != 20 || u.OutputTokensDetails.ReasoningTokens != 12 || u.TotalTokens != 140 {
		t.Errorf("usage %+v", u)
	}
	resp := enc.Response()
	if resp.Text != "Let me check." || len(resp.ToolCalls) != 1 || len(resp.Reasoning) != 1 || resp.Reasoning[0].Signature != "sig-abc" ||
		resp.FinishReason != llm.FinishToolCalls || resp.Usage.InputTokens != 100 {
		t.Errorf("assembled %+v", resp)
	}
}

func TestStreamIncomplete(t *testing.T) {
	raw, _ := encodeStream([]llm.StreamEvent{
		{Type: llm.EventText, Text: "Once upon"},
		{Type: llm.EventFinish, FinishReason: llm.FinishLength, RawFinishReason: "max_tokens"},
		{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: 5, OutputTokens: 2, Known: true}},
	}, (*StreamEncoder).Finish)
	golden(t, "stream_incomplete.sse", raw)
	evs := checkWire(t, raw)
	last := evs[len(evs)-1]
	if last.Type != "response.incomplete" || last.Response.Status != "incomplete" || last.Response.IncompleteDetails.Reason != "max_output_tokens" {
		t.Errorf("terminal %+v", last)
	}
}

func TestStreamFailed(t *testing.T) {
	raw, _ := encodeStream([]llm.StreamEvent{{Type: llm.EventText, Text: "Hal"}},
		func(e *StreamEncoder, dst []byte) []byte {
			return e.Fail(dst, &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded"})
		})
	golden(t, "stream_failed.sse", raw)
	evs := checkWire(t, raw)
	last := evs[len(evs)-1]
	if last.Type != "response.failed" || last.Response.Status != "failed" || last.Response.Error.Message != "Overloaded" ||
		last.Response.OutputText() != "Hal" {
		t.Errorf("terminal %+v", last)
	}
}

// An empty upstream stream still opens and closes the response.
func TestStreamEmpty(t *testing.T) {
	raw, _ := encodeStream(nil, (*StreamEncoder).Finish)
	evs := checkWire(t, raw)
	if len(evs) != 3 || evs[0].Type != "response.created" || evs[2].Type != "response.completed" {
		t.Errorf("events %+v", evs)
	}
}

func TestEncodeResponse(t *testing.T) {
	resp := &llm.Response{Model: "gemini-2.5-flash", Text: "Done.", HasText: true,
		ToolCalls:    []llm.ToolCall{{ID: "c1", Name: "lookup", Arguments: json.RawMessage(`{"q":"x"}`)}},
		Reasoning:    []llm.Reasoning{{Text: "hmm", Redacted: "opaque"}},
		FinishReason: llm.FinishToolCalls, Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, CacheWriteTokens: 3, Known: true}}
	temp := 0.3
	req := &Request{LLM: &llm.Request{Temperature: &temp, MaxTokens: 64, Tools: []llm.Tool{{Name: "lookup", Parameters: json.RawMessage(`{"type":"object"}`)}}},
		Instructions: "Be brief.", Metadata: json.RawMessage(`{"a":"b"}`), Namespaces: map[string]string{"lookup": "crm"}}
	m := testMeta()
	m.Request = req
	raw := EncodeResponse(nil, resp, &m)
	golden(t, "response_reasoning_text_tool.json", raw)
	var got responses.Response
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "resp_tg1" || got.Model != "gemini-2.5-flash" || got.Instructions.OfString != "Be brief." || got.MaxOutputTokens != 64 ||
		got.Temperature != 0.3 || got.Metadata["a"] != "b" || len(got.Tools) != 1 || got.OutputText() != "Done." {
		t.Errorf("response %+v", got)
	}
	if len(got.Output) != 3 || got.Output[0].EncryptedContent != "tg-redacted:opaque" || got.Output[2].Namespace != "crm" {
		t.Errorf("output %+v", got.Output)
	}
	r, err := DecodeRequest([]byte(`{"model":"m","input":[{"type":"reasoning","summary":[],"encrypted_content":"tg-redacted:opaque"}]}`))
	if err != nil || r.LLM.Messages[0].Parts[0].Reasoning.Redacted != "opaque" {
		t.Errorf("redacted reasoning does not round-trip: %v %+v", err, r)
	}
}

// A custom tool (free-form input, like Codex's apply_patch) goes to the target as a function
// with one string parameter and comes back as a custom_tool_call item, in both directions.
func TestCustomTools(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","tools":[{"type":"custom","name":"apply_patch","description":"Patch files.",
	"format":{"type":"grammar","syntax":"lark","definition":"start: \"*** Begin Patch\""}}],
	"input":[{"role":"user","content":"fix it"},{"type":"custom_tool_call","call_id":"c1","name":"apply_patch","input":"*** Begin Patch\n"},
	{"type":"custom_tool_call_output","call_id":"c1","output":"Done"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tool := r.LLM.Tools[0]
	if tool.Name != "apply_patch" || !strings.Contains(tool.Description, "lark grammar") || !strings.Contains(string(tool.Parameters), `"input"`) {
		t.Errorf("tool %+v", tool)
	}
	call := r.LLM.Messages[1].ToolCalls()[0]
	if string(call.Arguments) != `{"input":"*** Begin Patch\n"}` || r.LLM.Messages[2].ToolName != "apply_patch" {
		t.Errorf("replayed call %s, result %+v", call.Arguments, r.LLM.Messages[2])
	}
	m := testMeta()
	m.Request = r
	e := NewStreamEncoder(m)
	out := e.Encode(nil, llm.StreamEvent{Type: llm.EventToolCallStart, ToolCallID: "c2", ToolName: "apply_patch"})
	out = e.Encode(out, llm.StreamEvent{Type: llm.EventToolCallDelta, Text: `{"input":"*** Begin`})
	out = e.Encode(out, llm.StreamEvent{Type: llm.EventToolCallDelta, Text: ` Patch\n"}`})
	out = e.Finish(out)
	evs := checkWire(t, out)
	var types []string
	for _, u := range evs {
		types = append(types, u.Type)
	}
	if strings.Join(types, " ") != "response.created response.in_progress response.output_item.added response.custom_tool_call_input.done response.output_item.done response.completed" {
		t.Errorf("events %v", types)
	}
	final := evs[len(evs)-1].Response.Output[0]
	if final.Type != "custom_tool_call" || final.Input != "*** Begin Patch\n" || final.CallID != "c2" {
		t.Errorf("item %+v", final)
	}
	raw := EncodeResponse(nil, e.Response(), &m)
	if !strings.Contains(string(raw), `"type":"custom_tool_call"`) || !strings.Contains(string(raw), `"input":"*** Begin Patch\n"`) {
		t.Errorf("response %s", raw)
	}
}
