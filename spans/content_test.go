package spans

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var contentKeys = []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions"}

// recordConversation runs one tool-calling turn with secrets in every content field.
func recordConversation(t *testing.T, o Options) tracetest.SpanStubs {
	t.Helper()
	rec, exp := newSyncRecorder(t, o)
	_, run, err := rec.StartRun(context.Background(), RunStart{
		Name: "run weather", Slug: "weather",
		Variables: map[string]string{"city": "SECRET-CITY", "api_hint": "SECRET-VAR"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []llm.Message{
		{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("SECRET-SYSTEM <be brief>")}},
		{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart("SECRET-DEV")}},
		{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("SECRET-USER weather?")}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{
			ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"SECRET-ARG"}`)}}}},
		{Role: llm.RoleTool, ToolCallID: "call_1", ToolName: "get_weather", Parts: []llm.Part{llm.TextPart("SECRET-TOOL 21C")}},
	}
	run.SetInput(msgs)
	a := run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "gpt", Request: &llm.Request{
		Messages: msgs,
		Tools:    []llm.Tool{{Name: "get_weather", Description: "SECRET-TOOLDESC", Parameters: json.RawMessage(`{"type":"object"}`)}},
	}})
	resp := &llm.Response{Text: "SECRET-ANSWER", HasText: true, FinishReason: llm.FinishToolCalls,
		ToolCalls: []llm.ToolCall{{ID: "call_2", Name: "get_time", Arguments: json.RawMessage(`not json SECRET-BADARG`)}}}
	a.End(resp, nil)
	run.End(RunEnd{Response: resp})
	return exp.GetSpans()
}

func TestContentNotCapturedByDefault(t *testing.T) {
	spans := recordConversation(t, Options{Headers: map[string]string{"Authorization": "Bearer HDR-SECRET"}})
	for _, s := range spans {
		attrs := attrMap(s.Attributes)
		for _, k := range contentKeys {
			if v, ok := attrs[k]; ok {
				t.Errorf("span %q has %s = %v with capture off", s.Name, k, v)
			}
		}
		for k := range attrs {
			if strings.HasPrefix(k, AttrPromptVariableBase) {
				t.Errorf("span %q has variable value %s with capture off", s.Name, k)
			}
		}
	}
	text := allAttributeText(spans)
	if strings.Contains(text, "SECRET") {
		t.Errorf("content leaked with capture off:\n%s", text)
	}
	runAttrs := attrMap(spanByName(t, spans, "run weather").Attributes)
	if got := runAttrs["tracegate.prompt.variables"]; !reflect.DeepEqual(got, []string{"api_hint", "city"}) {
		t.Errorf("variable names = %v, want them sorted even with capture off", got)
	}
}

func TestExportHeadersNeverInSpans(t *testing.T) {
	spans := recordConversation(t, Options{CaptureContent: true, Headers: map[string]string{"Authorization": "Bearer HDR-TOKEN-42"}})
	if text := allAttributeText(spans); strings.Contains(text, "HDR-TOKEN-42") || strings.Contains(text, "Authorization") {
		t.Errorf("export header leaked into spans:\n%s", text)
	}
}

func TestContentCaptured(t *testing.T) {
	spans := recordConversation(t, Options{CaptureContent: true})
	runSpan, attempt := spanByName(t, spans, "run weather"), spanByName(t, spans, "chat gpt")

	wantInput := []any{
		map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "SECRET-USER weather?"}}},
		map[string]any{"role": "assistant", "parts": []any{map[string]any{"type": "tool_call", "id": "call_1", "name": "get_weather",
			"arguments": map[string]any{"city": "SECRET-ARG"}}}},
		map[string]any{"role": "tool", "parts": []any{map[string]any{"type": "tool_call_response", "id": "call_1", "response": "SECRET-TOOL 21C"}}},
	}
	wantSystem := []any{
		map[string]any{"type": "text", "content": "SECRET-SYSTEM <be brief>"},
		map[string]any{"type": "text", "content": "SECRET-DEV"},
	}
	wantOutput := []any{map[string]any{"role": "assistant", "finish_reason": "tool_call", "parts": []any{
		map[string]any{"type": "text", "content": "SECRET-ANSWER"},
		map[string]any{"type": "tool_call", "id": "call_2", "name": "get_time", "arguments": "not json SECRET-BADARG"},
	}}}
	for _, s := range []tracetest.SpanStub{runSpan, attempt} {
		attrs := attrMap(s.Attributes)
		checkJSON(t, s.Name, attrs, "gen_ai.input.messages", wantInput)
		checkJSON(t, s.Name, attrs, "gen_ai.system_instructions", wantSystem)
		checkJSON(t, s.Name, attrs, "gen_ai.output.messages", wantOutput)
	}
	checkJSON(t, attempt.Name, attrMap(attempt.Attributes), "gen_ai.tool.definitions", []any{map[string]any{
		"type": "function", "name": "get_weather", "description": "SECRET-TOOLDESC", "parameters": map[string]any{"type": "object"}}})
	runAttrs := attrMap(runSpan.Attributes)
	if runAttrs["tracegate.prompt.variable.city"] != "SECRET-CITY" || runAttrs["tracegate.prompt.variable.api_hint"] != "SECRET-VAR" {
		t.Errorf("variable values missing from run span: %v", runAttrs)
	}
	if strings.Contains(runAttrs["gen_ai.system_instructions"].(string), `\u003c`) {
		t.Errorf("system instructions HTML-escaped: %v", runAttrs["gen_ai.system_instructions"])
	}
}

func checkJSON(t *testing.T, span string, attrs map[string]any, key string, want any) {
	t.Helper()
	raw, ok := attrs[key].(string)
	if !ok {
		t.Errorf("span %q: %s missing", span, key)
		return
	}
	var got any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Errorf("span %q: %s is not JSON: %v", span, key, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("span %q: %s\n got %s\nwant %v", span, key, raw, want)
	}
}
