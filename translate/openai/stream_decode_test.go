package openai

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tracegate/tracegate/llm"
)

type assembledCall struct {
	id, name, args string
}

// assembled is what a consumer builds from a whole stream.
type assembled struct {
	id, model   string
	starts      int
	text        string
	calls       []assembledCall
	finish      llm.FinishReason
	rawFinish   string
	finishes    int
	usage       llm.Usage
	usageEvents int
	err         error // the error that ended the stream; nil for io.EOF
}

func assemble(t testing.TB, d *StreamDecoder) assembled {
	t.Helper()
	var a assembled
	var text strings.Builder
	for range 100000 {
		ev, err := d.Next()
		if err != nil {
			if err != io.EOF {
				a.err = err
			}
			a.text = text.String()
			return a
		}
		switch ev.Type {
		case llm.EventStart:
			a.starts++
			a.id, a.model = ev.ID, ev.Model
		case llm.EventText:
			text.WriteString(ev.Text)
		case llm.EventToolCallStart:
			if ev.ToolIndex != len(a.calls) {
				t.Fatalf("tool call %d opened out of order (have %d)", ev.ToolIndex, len(a.calls))
			}
			a.calls = append(a.calls, assembledCall{id: ev.ToolCallID, name: ev.ToolName})
		case llm.EventToolCallDelta:
			if ev.ToolIndex < 0 || ev.ToolIndex >= len(a.calls) {
				t.Fatalf("delta for unopened tool call %d", ev.ToolIndex)
			}
			a.calls[ev.ToolIndex].args += ev.Text
		case llm.EventFinish:
			a.finishes++
			a.finish, a.rawFinish = ev.FinishReason, ev.RawFinishReason
		case llm.EventUsage:
			a.usageEvents++
			a.usage = ev.Usage
		default:
			t.Fatalf("unknown event type %d", ev.Type)
		}
	}
	t.Fatal("stream never ended")
	return a
}

func TestStreamDecoderFixtures(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, a assembled)
	}{
		{"streaming_text.sse", func(t *testing.T, a assembled) {
			want := "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app."
			if a.id != "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL" || a.model != "gpt-4o-2024-08-06" {
				t.Errorf("start = %q %q", a.id, a.model)
			}
			if a.text != want {
				t.Errorf("text = %q", a.text)
			}
			if a.finish != llm.FinishStop || a.rawFinish != "stop" || len(a.calls) != 0 {
				t.Errorf("finish %q/%q calls %v", a.finish, a.rawFinish, a.calls)
			}
			if a.usage != (llm.Usage{InputTokens: 14, OutputTokens: 30, Known: true}) {
				t.Errorf("usage = %+v", a.usage)
			}
		}},
		{"streaming_length.sse", func(t *testing.T, a assembled) {
			if a.text != `{"` || a.finish != llm.FinishLength || a.rawFinish != "length" {
				t.Errorf("text %q finish %q/%q", a.text, a.finish, a.rawFinish)
			}
			if a.usage != (llm.Usage{InputTokens: 79, OutputTokens: 1, Known: true}) {
				t.Errorf("usage = %+v", a.usage)
			}
		}},
		{"streaming_structured_output.sse", func(t *testing.T, a assembled) {
			if a.text != `{"city":"San Francisco","temperature":61,"units":"f"}` || a.finish != llm.FinishStop {
				t.Errorf("text %q finish %q", a.text, a.finish)
			}
			if a.usage != (llm.Usage{InputTokens: 79, OutputTokens: 14, Known: true}) {
				t.Errorf("usage = %+v", a.usage)
			}
		}},
		{"streaming_tool_call.sse", func(t *testing.T, a assembled) {
			want := []assembledCall{{id: "call_4XzlGBLtUe9dy3GVNV4jhq7h", name: "get_weather", args: `{"city":"New York City"}`}}
			if len(a.calls) != 1 || a.calls[0] != want[0] {
				t.Errorf("calls = %+v", a.calls)
			}
			if a.text != "" || a.finish != llm.FinishToolCalls || a.rawFinish != "tool_calls" {
				t.Errorf("text %q finish %q/%q", a.text, a.finish, a.rawFinish)
			}
			if a.usage != (llm.Usage{InputTokens: 44, OutputTokens: 16, Known: true}) {
				t.Errorf("usage = %+v", a.usage)
			}
		}},
		{"streaming_tool_call_usage.synthetic.sse", func(t *testing.T, a assembled) {
			if !strings.HasPrefix(a.text, "Let's take a journey to the beautiful island of Santorini") ||
				!strings.Contains(a.text, "\"Pompeii of the Aegean.\"\n\nNow, let's check") ||
				!strings.HasSuffix(a.text, "check the weather in Santorini.") {
				t.Errorf("text = %q", a.text)
			}
			want := assembledCall{id: "call_FXoAjBUMcVv1k40fficJ9cSs", name: "get_weather", args: `{"location":"Santorini, Greece"}`}
			if len(a.calls) != 1 || a.calls[0] != want {
				t.Errorf("calls = %+v", a.calls)
			}
			// Two usage chunks: the later one replaces the earlier.
			if a.usageEvents != 2 {
				t.Errorf("usage events = %d", a.usageEvents)
			}
			wantUsage := llm.Usage{InputTokens: 0, OutputTokens: 50, CacheReadTokens: 10, ReasoningTokens: 3, Known: true}
			if a.usage != wantUsage {
				t.Errorf("usage = %+v", a.usage)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body := readFixture(t, c.file)
			for _, variant := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", bytes.NewReader(body)},
				{"byte by byte", iotest.OneByteReader(bytes.NewReader(body))},
				{"CRLF", bytes.NewReader(bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")))},
			} {
				t.Run(variant.name, func(t *testing.T) {
					a := assemble(t, NewStreamDecoder(variant.r))
					if a.err != nil {
						t.Fatalf("stream error: %v", a.err)
					}
					if a.starts != 1 || a.finishes != 1 {
						t.Fatalf("starts %d finishes %d", a.starts, a.finishes)
					}
					c.check(t, a)
				})
			}
		})
	}
}

func TestStreamDecoderTruncated(t *testing.T) {
	body := readFixture(t, "streaming_text.sse")
	cut := bytes.Index(body, []byte("data: [DONE]"))
	for name, b := range map[string][]byte{
		"before DONE":  body[:cut],
		"mid event":    body[:cut-40],
		"empty stream": nil,
	} {
		t.Run(name, func(t *testing.T) {
			a := assemble(t, NewStreamDecoder(bytes.NewReader(b)))
			if !errors.Is(a.err, llm.ErrStreamTruncated) {
				t.Fatalf("err = %v, want ErrStreamTruncated", a.err)
			}
		})
	}
	t.Run("error repeats", func(t *testing.T) {
		d := NewStreamDecoder(bytes.NewReader(body[:cut]))
		assemble(t, d)
		if _, err := d.Next(); !errors.Is(err, llm.ErrStreamTruncated) {
			t.Fatalf("second Next = %v", err)
		}
	})
}

func TestStreamDecoderEOFRepeats(t *testing.T) {
	d := NewStreamDecoder(strings.NewReader("data: [DONE]\n\ndata: {\"id\":\"late\"}\n\n"))
	for range 3 {
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("Next = %v, want io.EOF", err)
		}
	}
}

func TestStreamDecoderInStreamError(t *testing.T) {
	stream := "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
		"data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
	a := assemble(t, NewStreamDecoder(strings.NewReader(stream)))
	var ue *llm.UpstreamError
	if !errors.As(a.err, &ue) {
		t.Fatalf("err = %v, want *llm.UpstreamError", a.err)
	}
	if ue.Status != 0 || ue.Type != "server_error" || ue.Provider != "openai" {
		t.Fatalf("got %+v", ue)
	}
	if a.text != "Hel" {
		t.Fatalf("text before the error = %q", a.text)
	}

	a = assemble(t, NewStreamDecoder(strings.NewReader("event: error\ndata: {\"message\":\"boom\",\"type\":\"api_error\"}\n\n")))
	if !errors.As(a.err, &ue) || ue.Message != "boom" || !ue.Retryable() {
		t.Fatalf("event: error payload decoded as %v", a.err)
	}
}

func TestStreamDecoderMalformedChunk(t *testing.T) {
	for name, stream := range map[string]string{
		"not JSON":  "data: {\"id\":\n\ndata: [DONE]\n\n",
		"array":     "data: [1,2]\n\ndata: [DONE]\n\n",
		"bare word": "data: hello\n\ndata: [DONE]\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			a := assemble(t, NewStreamDecoder(strings.NewReader(stream)))
			if !errors.Is(a.err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", a.err)
			}
		})
	}
}

// chunk builds one data frame with the given choice delta JSON.
func chunk(delta string) string {
	return `data: {"id":"c","model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
}

func TestStreamDecoderParallelToolCalls(t *testing.T) {
	stream := chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}},{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{"}}]}`) +
		chunk(`{"tool_calls":[{"index":1,"function":{"arguments":"}"}}]}`) +
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}`) +
		`data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n"
	a := assemble(t, NewStreamDecoder(strings.NewReader(stream)))
	if a.err != nil {
		t.Fatal(a.err)
	}
	want := []assembledCall{{"a", "f", `{"x":1}`}, {"b", "g", "{}"}}
	if len(a.calls) != 2 || a.calls[0] != want[0] || a.calls[1] != want[1] {
		t.Fatalf("calls = %+v", a.calls)
	}
	if a.usageEvents != 0 || a.usage.Known {
		t.Fatalf("usage reported without a usage chunk: %+v", a.usage)
	}
}

// Some compatible servers (Bedrock's OpenAI endpoint) send index -1 or no index: a fragment
// with a new id opens a call, one without continues the latest.
func TestStreamDecoderMissingIndex(t *testing.T) {
	stream := chunk(`{"tool_calls":[{"index":-1,"id":"a","function":{"name":"f","arguments":"{\"q\":"}}]}`) +
		chunk(`{"tool_calls":[{"index":-1,"function":{"arguments":"1}"}}]}`) +
		chunk(`{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}`) +
		chunk(`{"tool_calls":[{"id":"b","function":{"arguments":""}}]}`) +
		"data: [DONE]\n\n"
	a := assemble(t, NewStreamDecoder(strings.NewReader(stream)))
	if a.err != nil {
		t.Fatal(a.err)
	}
	want := []assembledCall{{"a", "f", `{"q":1}`}, {"b", "g", "{}"}}
	if len(a.calls) != 2 || a.calls[0] != want[0] || a.calls[1] != want[1] {
		t.Fatalf("calls = %+v", a.calls)
	}
}

func TestStreamDecoderIgnoresOtherChoicesAndComments(t *testing.T) {
	stream := ": keep-alive\n\n" +
		`data: {"id":"c","model":"m","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}` + "\n\n" +
		"data: [DONE]\n\n"
	a := assemble(t, NewStreamDecoder(strings.NewReader(stream)))
	if a.err != nil || a.text != "mine" {
		t.Fatalf("text %q err %v", a.text, a.err)
	}
}
