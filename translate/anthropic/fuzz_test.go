package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func addFixtureSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		f.Add(readFixture(f, name))
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addFixtureSeeds(f, "plain_text.response.json", "structured_output.response.json",
		"tool_call.response.json", "tool_result_turn.response.json")
	f.Add([]byte(`{"content":[{"type":"tool_use","name":"` + JSONToolName + `","input":{"a":nan}}],"stop_reason":"tool_use"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			return
		}
		for _, c := range resp.ToolCalls {
			if !json.Valid(c.Arguments) || c.Arguments[0] != '{' {
				t.Fatalf("tool call arguments %q are not a JSON object", c.Arguments)
			}
		}
		if resp.Usage.InputTokens < 0 || resp.Usage.OutputTokens < 0 {
			t.Fatalf("negative usage %+v", resp.Usage)
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addFixtureSeeds(f, "streaming_text.sse", "streaming_tool_call.sse", "streaming_tool_call_2.sse",
		"streaming_structured_output.sse", "error_overloaded_midstream.synthetic.sse")
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := NewStreamDecoder(bytes.NewReader(stream))
		tools := 0
		// Each event consumes input, so a stream of n bytes yields far fewer than n+8 events.
		for range len(stream) + 8 {
			ev, err := d.Next()
			if err != nil {
				if _, again := d.Next(); (err == io.EOF) != (again == io.EOF) {
					t.Fatalf("end not sticky: %v then %v", err, again)
				}
				return
			}
			switch ev.Type {
			case llm.EventToolCallStart:
				if ev.ToolIndex != tools {
					t.Fatalf("tool index %d, want %d", ev.ToolIndex, tools)
				}
				tools++
			case llm.EventToolCallDelta:
				if ev.ToolIndex < 0 || ev.ToolIndex >= tools || ev.Text == "" {
					t.Fatalf("bad delta %+v with %d tools", ev, tools)
				}
			case llm.EventStart, llm.EventText, llm.EventFinish, llm.EventUsage:
			default:
				t.Fatalf("unknown event type %d", ev.Type)
			}
		}
		t.Fatal("decoder did not finish")
	})
}

// FuzzEncodeRequest builds a conversation from the fuzz input: every byte of shape picks the
// next message's role and form. Encoding must either fail with ErrInvalidRequest or produce
// valid JSON.
func FuzzEncodeRequest(f *testing.F) {
	f.Add("claude", "hello \"there\"\n", []byte(`{"city":"SF"}`), []byte(`{"type":"object"}`), 0.7, []byte{0, 1, 2, 3, 4, 5})
	f.Add("", "", []byte(""), []byte(`[`), 3.0, []byte{2, 3})
	f.Add("m", "\xff\x00", []byte("null"), []byte(nil), -1.0, []byte{7, 8, 9, 1, 2, 6})
	f.Fuzz(func(t *testing.T, model, text string, args, schema []byte, temperature float64, shape []byte) {
		req := &llm.Request{
			Model:       model,
			Temperature: &temperature,
			TopP:        &temperature,
			MaxTokens:   len(shape) - 3,
			Stop:        []string{text, ""},
			User:        text,
			Stream:      len(shape)%2 == 0,
			Tools:       []llm.Tool{{Name: "f", Description: text, Parameters: schema, Strict: len(text)%2 == 0}},
		}
		lastID := "call_0"
		for i, b := range shape {
			id := "call_" + string(rune('a'+i%26))
			switch b % 10 {
			case 0:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart(text)}})
			case 1:
				req.Messages = append(req.Messages, userText(text))
			case 2:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{
					llm.TextPart(text), toolCallPart(id, "f", string(args))}})
				lastID = id
			case 3:
				req.Messages = append(req.Messages, toolResult(lastID, text))
			case 4:
				req.Messages = append(req.Messages, toolResult(text, text))
			case 5:
				req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: schema}
			case 6:
				req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
			case 7:
				req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: text}
			case 8:
				req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceRequired}
				no := false
				req.ParallelToolCalls = &no
			case 9:
				req.Messages = append(req.Messages, llm.Message{Role: llm.Role(text), Parts: []llm.Part{llm.TextPart(text)}})
			}
		}
		for _, opts := range []EncodeOptions{{}, {ForceToolForJSON: true}} {
			out, err := EncodeRequestWith([]byte("["), req, opts)
			if err != nil {
				if !errors.Is(err, llm.ErrInvalidRequest) {
					t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
				}
				if string(out) != "[" {
					t.Fatalf("dst changed on error: %q", out)
				}
				continue
			}
			if !json.Valid(out[1:]) {
				t.Fatalf("invalid JSON: %s", out[1:])
			}
		}
	})
}
