package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/tracegate/tracegate/llm"
)

// reencode decodes an SSE fixture into canonical events and encodes them as chunks again.
func reencode(t *testing.T, body []byte, includeUsage bool) []byte {
	t.Helper()
	d := NewStreamDecoder(bytes.NewReader(body))
	enc := NewChunkEncoder("", "", 1727346168, includeUsage)
	var out []byte
	for {
		ev, err := d.Next()
		if errors.Is(err, io.EOF) {
			return enc.Finish(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = enc.Encode(out, ev)
	}
}

// frames splits an encoded stream into its data payloads, checking the framing.
func frames(t *testing.T, stream []byte) [][]byte {
	t.Helper()
	if !bytes.HasSuffix(stream, []byte("data: [DONE]\n\n")) {
		t.Fatalf("stream does not end with [DONE]: %q", stream[max(0, len(stream)-60):])
	}
	var out [][]byte
	for _, f := range bytes.Split(bytes.TrimSuffix(stream, []byte("\n\n")), []byte("\n\n")) {
		if !bytes.HasPrefix(f, []byte("data: ")) || bytes.Contains(f, []byte("\n")) {
			t.Fatalf("bad frame %q", f)
		}
		out = append(out, f[len("data: "):])
	}
	return out
}

func TestChunkEncoderReplaysFixtures(t *testing.T) {
	for _, name := range []string{"streaming_text.sse", "streaming_length.sse", "streaming_structured_output.sse",
		"streaming_tool_call.sse", "streaming_tool_call_usage.synthetic.sse"} {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name)
			want := assemble(t, NewStreamDecoder(bytes.NewReader(body)))
			stream := reencode(t, body, true)

			got := assemble(t, NewStreamDecoder(bytes.NewReader(stream)))
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.id != want.id || got.model != want.model || got.text != want.text || got.finish != want.finish ||
				got.usage != want.usage || len(got.calls) != len(want.calls) {
				t.Fatalf("re-encoded stream differs\n got %+v\nwant %+v", got, want)
			}
			for i := range got.calls {
				if got.calls[i] != want.calls[i] {
					t.Fatalf("call %d: got %+v want %+v", i, got.calls[i], want.calls[i])
				}
			}
			if got.usageEvents != 1 {
				t.Fatalf("usage chunks = %d, want exactly one", got.usageEvents)
			}

			// The official client's accumulator assembles the same reply.
			var acc oai.ChatCompletionAccumulator
			fs := frames(t, stream)
			for i, f := range fs[:len(fs)-1] {
				var c oai.ChatCompletionChunk
				if err := json.Unmarshal(f, &c); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if i == 0 && c.Choices[0].Delta.Role != "assistant" {
					t.Fatalf("first chunk has no assistant role: %s", f)
				}
				if !acc.AddChunk(c) {
					t.Fatalf("accumulator rejected frame %d: %s", i, f)
				}
			}
			msg := acc.Choices[0].Message
			if msg.Content != want.text || string(acc.Choices[0].FinishReason) != string(want.finish) ||
				acc.Usage.PromptTokens != want.usage.InputTokens || acc.Usage.CompletionTokens != want.usage.OutputTokens {
				t.Fatalf("accumulated %q finish %q usage %+v", msg.Content, acc.Choices[0].FinishReason, acc.Usage)
			}
			if len(msg.ToolCalls) != len(want.calls) {
				t.Fatalf("accumulated tool calls %+v", msg.ToolCalls)
			}
			for i, c := range msg.ToolCalls {
				if c.ID != want.calls[i].id || c.Function.Name != want.calls[i].name || c.Function.Arguments != want.calls[i].args {
					t.Fatalf("accumulated call %d = %+v", i, c)
				}
			}
		})
	}
}

func TestChunkEncoderUsageChunkOnlyWhenAsked(t *testing.T) {
	body := readFixture(t, "streaming_text.sse")
	for _, includeUsage := range []bool{true, false} {
		usageOnly := 0
		for _, f := range frames(t, reencode(t, body, includeUsage)) {
			if _, _, only := ScanChunk(f); only {
				usageOnly++
			}
			if !includeUsage && bytes.Contains(f, []byte(`"usage"`)) {
				t.Fatalf("usage field sent to a client that did not ask: %s", f)
			}
		}
		if want := map[bool]int{true: 1, false: 0}[includeUsage]; usageOnly != want {
			t.Fatalf("includeUsage=%v: %d usage-only chunks, want %d", includeUsage, usageOnly, want)
		}
	}
}

func TestChunkEncoderExactFrames(t *testing.T) {
	enc := NewChunkEncoder("chatcmpl-1", "claude", 7, false)
	var out []byte
	for _, ev := range []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_upstream", Model: "claude-upstream"},
		{Type: llm.EventText, Text: ""},
		{Type: llm.EventText, Text: "Hi\n"},
		{Type: llm.EventToolCallStart, ToolIndex: 1, ToolCallID: "toolu_1", ToolName: "f"},
		{Type: llm.EventToolCallDelta, ToolIndex: 1, Text: `{"a":`},
		{Type: llm.EventToolCallStart, ToolIndex: 3, ToolCallID: "toolu_2", ToolName: "g"},
		{Type: llm.EventToolCallDelta, ToolIndex: 1, Text: `1}`},
		{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: 1, Known: true}},
		{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls, RawFinishReason: "tool_use"},
	} {
		out = enc.Encode(out, ev)
	}
	out = enc.Finish(out)
	const head = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"claude","choices":[{"index":0,"delta":`
	const tail = `,"logprobs":null,"finish_reason":null}]}` + "\n\n"
	want := head + `{"role":"assistant","content":""}` + tail +
		head + `{"content":"Hi\n"}` + tail +
		head + `{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"f","arguments":""}}]}` + tail +
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}` + tail +
		head + `{"tool_calls":[{"index":1,"id":"toolu_2","type":"function","function":{"name":"g","arguments":""}}]}` + tail +
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}` + tail +
		head + `{},"logprobs":null,"finish_reason":"tool_calls"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	if string(out) != want {
		t.Fatalf("frames differ\n got %s\nwant %s", out, want)
	}
}

func TestChunkEncoderWithoutStartOrFinish(t *testing.T) {
	enc := NewChunkEncoder("id", "m", 1, true)
	out := enc.Encode(nil, llm.StreamEvent{Type: llm.EventText, Text: "x"})
	if !strings.Contains(string(out), `"delta":{"role":"assistant","content":"x"}`) {
		t.Fatalf("first chunk lacks the role: %s", out)
	}
	out = enc.Finish(nil)
	if !strings.Contains(string(out), `"delta":{},"logprobs":null,"finish_reason":"stop"`) {
		t.Fatalf("Finish did not close the choice: %s", out)
	}
	// Usage unknown: no usage chunk even though the client asked.
	if strings.Contains(string(out), `"choices":[]`) {
		t.Fatalf("usage chunk without known usage: %s", out)
	}

	// A finish as the very first event still opens with the role, and stays valid JSON.
	enc = NewChunkEncoder("id", "m", 1, false)
	out = enc.Encode(nil, llm.StreamEvent{Type: llm.EventFinish, FinishReason: llm.FinishLength})
	assertJSONEqual(t, bytes.TrimSpace(out[len("data: "):]), []byte(`{"id":"id","object":"chat.completion.chunk","created":1,"model":"m",
		"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":"length"}]}`))
}
