package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tracegate/tracegate/llm"
)

type streamedCall struct {
	id, name string
	args     strings.Builder
}

// streamResult is a stream assembled the way a consumer of the events would assemble it.
type streamResult struct {
	id, model    string
	text         strings.Builder
	reasoning    strings.Builder
	signatures   []string
	calls        []*streamedCall
	finish       llm.FinishReason
	rawFinish    string
	usages       []llm.Usage
	starts       int
	eventsBefore int // events seen before the terminal error or io.EOF
}

func (r *streamResult) usage() llm.Usage {
	if len(r.usages) == 0 {
		return llm.Usage{}
	}
	return r.usages[len(r.usages)-1]
}

// replay drains a decoder, returning what it assembled and the error that ended it (nil for a
// clean io.EOF). It fails the test on events that break the StreamEvent contract.
func replay(t testing.TB, r io.Reader) (*streamResult, error) {
	t.Helper()
	d := NewStreamDecoder(r)
	res := &streamResult{}
	for {
		ev, err := d.Next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.eventsBefore++
		switch ev.Type {
		case llm.EventStart:
			res.starts++
			res.id, res.model = ev.ID, ev.Model
		case llm.EventText:
			res.text.WriteString(ev.Text)
		case llm.EventToolCallStart:
			if ev.ToolIndex != len(res.calls) {
				t.Fatalf("tool call start index %d, want %d", ev.ToolIndex, len(res.calls))
			}
			res.calls = append(res.calls, &streamedCall{id: ev.ToolCallID, name: ev.ToolName})
		case llm.EventToolCallDelta:
			if ev.ToolIndex < 0 || ev.ToolIndex >= len(res.calls) {
				t.Fatalf("delta for unknown tool index %d", ev.ToolIndex)
			}
			if ev.Text == "" {
				t.Fatal("empty tool call delta")
			}
			res.calls[ev.ToolIndex].args.WriteString(ev.Text)
		case llm.EventFinish:
			res.finish, res.rawFinish = ev.FinishReason, ev.RawFinishReason
		case llm.EventUsage:
			res.usages = append(res.usages, ev.Usage)
		case llm.EventReasoning:
			res.reasoning.WriteString(ev.Text)
			if ev.Signature != "" {
				res.signatures = append(res.signatures, ev.Signature)
			}
		default:
			t.Fatalf("unexpected event type %d", ev.Type)
		}
	}
}

type wantCall struct{ id, name, args string }

func TestStreamDecoderFixtures(t *testing.T) {
	cases := []struct {
		fixture    string
		id, model  string
		text       string
		calls      []wantCall
		finish     llm.FinishReason
		raw        string
		firstUsage llm.Usage
		usage      llm.Usage
	}{
		{
			fixture: "streaming_text.sse", id: "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK", model: "claude-3-opus-latest",
			text: "Hello there!", finish: llm.FinishStop, raw: "end_turn",
			firstUsage: llm.Usage{InputTokens: 11, OutputTokens: 1, Known: true},
			usage:      llm.Usage{InputTokens: 11, OutputTokens: 6, Known: true},
		},
		{
			fixture: "streaming_tool_call.sse", id: "msg_01P7nF1bmxyzFZjF8zwbUDBM", model: "claude-3-7-sonnet-20250219",
			text:   "I'd be happy to check the weather in San Francisco for you. Let me get that information for you right away.",
			calls:  []wantCall{{"toolu_017QoD96fYwGzCWvLfaPADWg", "get_weather", `{"city":"San Francisco"}`}},
			finish: llm.FinishToolCalls, raw: "tool_use",
			firstUsage: llm.Usage{InputTokens: 394, OutputTokens: 1, Known: true},
			usage:      llm.Usage{InputTokens: 394, OutputTokens: 79, Known: true}, // 79, not 1+79
		},
		{
			fixture: "streaming_tool_call_2.sse", id: "msg_019Q1hrJbZG26Fb9BQhrkHEr", model: "claude-sonnet-4-20250514",
			text:   "I'll check the current weather in Paris for you.",
			calls:  []wantCall{{"toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather", `{"location":"Paris"}`}},
			finish: llm.FinishToolCalls, raw: "tool_use",
			firstUsage: llm.Usage{InputTokens: 377, OutputTokens: 1, Known: true},
			usage:      llm.Usage{InputTokens: 377, OutputTokens: 65, Known: true},
		},
		{
			fixture: "streaming_structured_output.sse", id: "msg_013nnniYDrJDocdy5nrMU7cH", model: "claude-sonnet-4-5-20250929",
			text: "[12345,67890]", finish: llm.FinishStop, raw: "end_turn",
			firstUsage: llm.Usage{InputTokens: 135, OutputTokens: 1, Known: true},
			usage:      llm.Usage{InputTokens: 135, OutputTokens: 10, Known: true},
		},
	}
	for _, tc := range cases {
		raw := readFixture(t, tc.fixture)
		readers := map[string]func() io.Reader{
			"whole":     func() io.Reader { return bytes.NewReader(raw) },
			"byte-wise": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(raw)) },
			"crlf":      func() io.Reader { return bytes.NewReader(bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))) },
		}
		for how, open := range readers {
			t.Run(tc.fixture+"/"+how, func(t *testing.T) {
				res, err := replay(t, open())
				if err != nil {
					t.Fatalf("stream error: %v", err)
				}
				if res.starts != 1 || res.id != tc.id || res.model != tc.model {
					t.Errorf("start: %d events, id %q, model %q", res.starts, res.id, res.model)
				}
				if res.text.String() != tc.text {
					t.Errorf("text = %q, want %q", res.text.String(), tc.text)
				}
				if len(res.calls) != len(tc.calls) {
					t.Fatalf("%d tool calls, want %d", len(res.calls), len(tc.calls))
				}
				for i, want := range tc.calls {
					got := res.calls[i]
					if got.id != want.id || got.name != want.name {
						t.Errorf("call %d = %s %s", i, got.id, got.name)
					}
					assertSameJSONText(t, got.args.String(), want.args)
				}
				if res.finish != tc.finish || res.rawFinish != tc.raw {
					t.Errorf("finish = %q (%q)", res.finish, res.rawFinish)
				}
				if len(res.usages) != 2 || res.usages[0] != tc.firstUsage {
					t.Errorf("usage events = %+v, want first %+v", res.usages, tc.firstUsage)
				}
				if res.usage() != tc.usage {
					t.Errorf("final usage = %+v, want %+v", res.usage(), tc.usage)
				}
			})
		}
	}
}

func assertSameJSONText(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("assembled arguments %q are not JSON: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("arguments = %s, want %s", gb, wb)
	}
}

func TestStreamDecoderErrorEvent(t *testing.T) {
	d := NewStreamDecoder(bytes.NewReader(readFixture(t, "error_overloaded_midstream.synthetic.sse")))
	_, err := d.Next()
	var up *llm.UpstreamError
	if !errors.As(err, &up) {
		t.Fatalf("err = %v, want *llm.UpstreamError", err)
	}
	if up.Status != 0 || up.Type != "overloaded_error" || up.Message != "Overloaded" || !up.Retryable() {
		t.Errorf("got %+v", up)
	}
	if _, again := d.Next(); again != err {
		t.Errorf("second Next = %v, want the same error", again)
	}
}

func TestStreamDecoderErrorAfterContent(t *testing.T) {
	raw := readFixture(t, "streaming_text.sse")
	cut := bytes.Index(raw, []byte("event: content_block_stop"))
	stream := append(append([]byte{}, raw[:cut]...), readFixture(t, "error_overloaded_midstream.synthetic.sse")...)
	res, err := replay(t, bytes.NewReader(stream))
	var up *llm.UpstreamError
	if !errors.As(err, &up) || up.Type != "overloaded_error" {
		t.Fatalf("err = %v", err)
	}
	if res.text.String() != "Hello there!" {
		t.Errorf("text before the error = %q", res.text.String())
	}
}

func TestStreamDecoderTruncated(t *testing.T) {
	raw := readFixture(t, "streaming_tool_call.sse")
	beforeStop := bytes.Index(raw, []byte("event: message_stop"))
	midEvent := bytes.Index(raw, []byte(`"partial_json":"n Francis"`))
	for name, body := range map[string][]byte{
		"before message_stop": raw[:beforeStop],
		"inside an event":     raw[:midEvent],
		"empty":               nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := replay(t, bytes.NewReader(body))
			if !errors.Is(err, llm.ErrStreamTruncated) {
				t.Fatalf("err = %v, want ErrStreamTruncated", err)
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestStreamDecoderReadError(t *testing.T) {
	cause := errors.New("connection reset")
	_, err := replay(t, io.MultiReader(strings.NewReader("event: ping\ndata: {\"type\":\"ping\"}\n\n"), failingReader{cause}))
	if !errors.Is(err, cause) || !errors.Is(err, llm.ErrStreamTruncated) {
		t.Fatalf("err = %v, want both the cause and ErrStreamTruncated", err)
	}
	if _, err := NewStreamDecoder(nil).Next(); err == nil || err == io.EOF {
		t.Fatalf("nil reader: err = %v", err)
	}
}

func TestStreamDecoderEOFAfterMessageStop(t *testing.T) {
	// Anything after message_stop is not read: the reply is complete.
	stream := string(readFixture(t, "streaming_text.sse")) + "\n\nevent: content_block_delta\ndata: {broken\n\n"
	d := NewStreamDecoder(strings.NewReader(stream))
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("after the end: %v", err)
		}
	}
}

const streamHead = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"model\":\"claude\",\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n"

// sseEvent frames one event; data may be written over several lines for readability.
func sseEvent(name, data string) string {
	data = strings.NewReplacer("\n", "", "\t", "").Replace(data)
	return "event: " + name + "\ndata: " + data + "\n\n"
}

func TestStreamDecoderToolIndexesAndIgnoredEvents(t *testing.T) {
	stream := streamHead +
		sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}`) +
		sseEvent("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		sseEvent("some_future_event", `{"type":"some_future_event","x":1}`) +
		": a comment line\n\n" +
		sseEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}`) +
		sseEvent("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{}}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"b\":"}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"2}"}}`) +
		sseEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}`) +
		sseEvent("message_stop", `{"type":"message_stop"}`)
	res, err := replay(t, strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if res.text.String() != "" {
		t.Errorf("thinking leaked into text: %q", res.text.String())
	}
	if res.reasoning.String() != "hmm" || len(res.signatures) != 1 || res.signatures[0] != "sig" {
		t.Errorf("thinking = %q, signatures %v", res.reasoning.String(), res.signatures)
	}
	if len(res.calls) != 2 || res.calls[0].id != "toolu_a" || res.calls[1].name != "g" {
		t.Fatalf("calls = %+v", res.calls)
	}
	assertSameJSONText(t, res.calls[0].args.String(), `{"a":1}`)
	assertSameJSONText(t, res.calls[1].args.String(), `{"b":2}`)
	if res.usage().OutputTokens != 30 || res.usage().InputTokens != 4 {
		t.Errorf("usage = %+v", res.usage())
	}
}

func TestStreamDecoderCumulativeCacheUsage(t *testing.T) {
	start := sseEvent("message_start", `{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3,
		"cache_creation_input_tokens":100,"cache_read_input_tokens":900,
		"cache_creation":{"ephemeral_5m_input_tokens":40,"ephemeral_1h_input_tokens":60},"output_tokens":2}}}`)
	stop := sseEvent("message_stop", `{"type":"message_stop"}`)
	cases := map[string]struct {
		delta string
		want  llm.Usage
	}{
		"output only: cache counts from message_start": {
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12}}`,
			llm.Usage{InputTokens: 1003, OutputTokens: 12, CacheReadTokens: 900, CacheWriteTokens: 40, CacheWrite1hTokens: 60, Known: true},
		},
		"repeated counts win": {
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":5,"cache_creation_input_tokens":100,
			  "cache_read_input_tokens":950,"output_tokens":12,"output_tokens_details":{"thinking_tokens":8}}}`,
			llm.Usage{InputTokens: 1055, OutputTokens: 12, CacheReadTokens: 950, CacheWriteTokens: 100, ReasoningTokens: 8, Known: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := replay(t, strings.NewReader(start+sseEvent("message_delta", tc.delta)+stop))
			if err != nil {
				t.Fatal(err)
			}
			if res.usage() != tc.want {
				t.Errorf("usage = %+v, want %+v", res.usage(), tc.want)
			}
		})
	}
}

func TestStreamDecoderForcedJSONTool(t *testing.T) {
	stream := streamHead +
		sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_j","name":"`+JSONToolName+`","input":{}}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"n\":"}}`) +
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"3}"}}`) +
		sseEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}`) +
		sseEvent("message_stop", `{"type":"message_stop"}`)
	res, err := replay(t, strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if res.text.String() != `{"n":3}` || len(res.calls) != 0 {
		t.Errorf("text = %q, calls = %d", res.text.String(), len(res.calls))
	}
	if res.finish != llm.FinishStop || res.rawFinish != "tool_use" {
		t.Errorf("finish = %q (%q)", res.finish, res.rawFinish)
	}
}

func TestStreamDecoderMalformedData(t *testing.T) {
	_, err := replay(t, strings.NewReader(streamHead+"event: content_block_delta\ndata: {not json\n\n"+sseEvent("message_stop", `{"type":"message_stop"}`)))
	if err == nil || errors.Is(err, llm.ErrStreamTruncated) {
		t.Fatalf("err = %v, want a decode error", err)
	}
}
