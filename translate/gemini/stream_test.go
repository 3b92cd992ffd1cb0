package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tracegate/tracegate/llm"
)

// chunkTexts decodes a recorded .sse file independently of the decoder (encoding/json, line
// splitting) and returns the answer text it carries.
func chunkTexts(t *testing.T, sse []byte) string {
	var text strings.Builder
	for line := range strings.Lines(string(sse)) {
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: ")
		if !ok {
			continue
		}
		var chunk struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text    string `json:"text"`
						Thought bool   `json:"thought"`
					} `json:"parts"`
				} `json:"content"`
			} `json:"candidates"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatal(err)
		}
		for _, p := range chunk.Candidates[0].Content.Parts {
			if !p.Thought {
				text.WriteString(p.Text)
			}
		}
	}
	return text.String()
}

func TestStreamFixtures(t *testing.T) {
	type want struct {
		id, model  string
		textPrefix string
		textSuffix string
		calls      []llm.ToolCall
		finish     llm.FinishReason
		usage      llm.Usage
		usageCount int
	}
	cases := map[string]want{
		"streaming_text": {id: "tS77aIl-4ZvV7w_A9rTBBg", model: "gemini-2.5-flash",
			textPrefix: "low!\n\nThe sky is blue primarily due to", textSuffix: "so we perceive the sky as blue rather than violet.",
			finish: llm.FinishStop, usageCount: 6,
			usage: llm.Usage{InputTokens: 20, OutputTokens: 253 + 260, ReasoningTokens: 260, Known: true}},
		"streaming_tool_call": {id: "xtSfaIRs8_Sf2Q-skYe5Dg", model: "gemini-2.0-flash",
			calls: []llm.ToolCall{{ID: "call_gm_xtSfaIRs8_Sf2Q-skYe5Dg_0", Name: "customDivide",
				Arguments: json.RawMessage(`{"denominator":2,"numerator":100}`)}},
			finish: llm.FinishToolCalls, usageCount: 1,
			usage: llm.Usage{InputTokens: 21, OutputTokens: 6, Known: true}},
		// Interim chunks claim 101 prompt tokens; only the last chunk (27 + 37) counts.
		"streaming_tool_result_turn": {id: "a9SfaPiKOv7Xn9kPr_f76AI", model: "gemini-2.0-flash",
			textPrefix: "I cannot fulfill this request.", textSuffix: "flawed and returns 42.\n",
			finish: llm.FinishStop, usageCount: 4,
			usage: llm.Usage{InputTokens: 27, OutputTokens: 37, Known: true}},
	}
	for _, name := range fixtureNames(t, ".sse") {
		w, ok := cases[name]
		if !ok {
			t.Fatalf("no expectations for fixture %s", name)
		}
		raw := readFixture(t, name+".sse")
		if !bytes.Contains(raw, []byte("\r\n\r\n")) {
			t.Fatalf("%s is expected to be CRLF framed", name)
		}
		readers := map[string]func() io.Reader{
			"crlf":     func() io.Reader { return bytes.NewReader(raw) },
			"lf":       func() io.Reader { return bytes.NewReader(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))) },
			"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(raw)) },
		}
		for framing, open := range readers {
			t.Run(name+"/"+framing, func(t *testing.T) {
				res := replay(t, open())
				if res.err != io.EOF {
					t.Fatalf("stream ended with %v, want io.EOF", res.err)
				}
				if res.id != w.id || res.model != w.model {
					t.Errorf("start = %q %q", res.id, res.model)
				}
				if res.text != chunkTexts(t, raw) || !strings.HasPrefix(res.text, w.textPrefix) || !strings.HasSuffix(res.text, w.textSuffix) {
					t.Errorf("text = %q", res.text)
				}
				if res.finish != w.finish || res.raw != "STOP" {
					t.Errorf("finish = %q (%q), want %q", res.finish, res.raw, w.finish)
				}
				if res.usage != w.usage || res.usageCount != w.usageCount {
					t.Errorf("usage = %+v (%d events), want %+v (%d)", res.usage, res.usageCount, w.usage, w.usageCount)
				}
				if len(res.calls) != len(w.calls) {
					t.Fatalf("calls = %+v, want %+v", res.calls, w.calls)
				}
				for i, c := range res.calls {
					if res.indices[i] != i || c.ID != w.calls[i].ID || c.Name != w.calls[i].Name {
						t.Errorf("call %d = %+v (index %d), want %+v", i, c, res.indices[i], w.calls[i])
					}
					assertJSONEqual(t, c.Arguments, w.calls[i].Arguments)
				}
				if res.types[0] != llm.EventStart || count(res.types, llm.EventStart) != 1 || count(res.types, llm.EventFinish) != 1 {
					t.Errorf("event types = %v", res.types)
				}
			})
		}
	}
}

func count(types []llm.StreamEventType, want llm.StreamEventType) int {
	n := 0
	for _, ty := range types {
		if ty == want {
			n++
		}
	}
	return n
}

func TestStreamEventOrder(t *testing.T) {
	res := replay(t, bytes.NewReader(readFixture(t, "streaming_tool_call.sse")))
	want := []llm.StreamEventType{llm.EventStart, llm.EventUsage, llm.EventToolCallStart, llm.EventToolCallDelta, llm.EventFinish}
	if !reflect.DeepEqual(res.types, want) {
		t.Errorf("types = %v, want %v", res.types, want)
	}
}

func TestStreamTruncated(t *testing.T) {
	raw := readFixture(t, "streaming_text.sse")
	cut := bytes.LastIndex(raw[:len(raw)-4], []byte("\r\n\r\n")) // drop the chunk with finishReason
	res := replay(t, bytes.NewReader(raw[:cut+4]))
	if !errors.Is(res.err, llm.ErrStreamTruncated) {
		t.Fatalf("err = %v, want ErrStreamTruncated", res.err)
	}
	if res.usageCount != 5 || res.finish != "" || !strings.HasPrefix(res.text, "low!") {
		t.Errorf("events before the cut lost: %+v", res)
	}

	for name, body := range map[string]string{
		"empty":         "",
		"comments only": ": keep-alive\r\n\r\n",
		"no finish":     "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"hi\"}]}}]}\r\n\r\n",
	} {
		if res := replay(t, strings.NewReader(body)); !errors.Is(res.err, llm.ErrStreamTruncated) {
			t.Errorf("%s: err = %v, want ErrStreamTruncated", name, res.err)
		}
	}

	// A connection cut inside a chunk leaves unparseable JSON: an error, after the good chunks.
	res = replay(t, strings.NewReader("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"hi\"}]}}]}\r\n\r\ndata: {\"candi"))
	if res.err == nil || errors.Is(res.err, io.EOF) || res.text != "hi" {
		t.Errorf("half a chunk: err = %v, text %q", res.err, res.text)
	}
}

func TestStreamErrorChunk(t *testing.T) {
	body := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}]}}],\"responseId\":\"r\"}\n\n" +
		"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n"
	res := replay(t, strings.NewReader(body))
	var ue *llm.UpstreamError
	if !errors.As(res.err, &ue) || ue.Status != 0 || ue.Type != "UNAVAILABLE" || ue.Message != "The model is overloaded." {
		t.Fatalf("err = %#v", res.err)
	}
	if res.text != "par" {
		t.Errorf("text before the error = %q", res.text)
	}

	res = replay(t, strings.NewReader("data: not json\n\n"))
	if res.err == nil || errors.Is(res.err, io.EOF) || errors.Is(res.err, llm.ErrStreamTruncated) {
		t.Errorf("non-JSON chunk: err = %v", res.err)
	}
}

func TestStreamThoughtsBlocksAndMintedIDs(t *testing.T) {
	body := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true},{\"text\":\"Hi\"}]}}]}\n\n" +
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":[1,{\"b\":null}]}},\"thoughtSignature\":\"s1\"}," +
		"{\"functionCall\":{\"id\":\"fc-9\",\"name\":\"g\"}}]},\"finishReason\":\"STOP\"}]}\n\n" +
		"data: [DONE]\n\n"
	res := replay(t, strings.NewReader(body))
	if res.err != io.EOF || res.text != "Hi" || res.reasoning != "plan" || res.finish != llm.FinishToolCalls || res.usageCount != 0 {
		t.Fatalf("got %+v", res)
	}
	if len(res.calls) != 2 || !IsMintedID(res.calls[0].ID) || !strings.HasSuffix(res.calls[0].ID, "_0") ||
		res.calls[0].Signature != "s1" || res.calls[1].ID != "fc-9" || res.indices[1] != 1 {
		t.Fatalf("calls = %+v", res.calls)
	}
	assertJSONEqual(t, res.calls[0].Arguments, []byte(`{"a":[1,{"b":null}]}`))
	assertJSONEqual(t, res.calls[1].Arguments, []byte(`{}`))
	if again := replay(t, strings.NewReader(body)); again.calls[0].ID != res.calls[0].ID {
		t.Errorf("minted id not deterministic: %q vs %q", again.calls[0].ID, res.calls[0].ID)
	}

	res = replay(t, strings.NewReader("data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{\"promptTokenCount\":5}}\r\n\r\n"))
	if res.err != io.EOF || res.finish != llm.FinishContentFilter || res.raw != "PROHIBITED_CONTENT" || res.usage.InputTokens != 5 {
		t.Errorf("blocked prompt: %+v", res)
	}
}

// TestStreamMatchesUnary: a reply streamed in one chunk decodes like the unary reply.
func TestStreamMatchesUnary(t *testing.T) {
	for _, name := range []string{"tool_call", "tool_call_forced_thought_signature", "plain_text"} {
		body := readFixture(t, name+".response.json")
		unary, err := DecodeResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatal(err)
		}
		res := replay(t, strings.NewReader("data: "+compact.String()+"\r\n\r\n"))
		if res.err != io.EOF || res.text != unary.Text || res.finish != unary.FinishReason || res.usage != unary.Usage {
			t.Errorf("%s: stream %+v vs unary %+v", name, res, unary)
		}
		for i, c := range unary.ToolCalls {
			if res.calls[i].ID != c.ID || res.calls[i].Signature != c.Signature || string(res.calls[i].Arguments) != string(c.Arguments) {
				t.Errorf("%s: call %d stream %+v vs unary %+v", name, i, res.calls[i], c)
			}
		}
	}
}
