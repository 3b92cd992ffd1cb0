package openai

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestScanRequest(t *testing.T) {
	cases := []struct {
		body                 string
		model                string
		stream, includeUsage bool
	}{
		{`{"model":"gpt-4o","messages":[]}`, "gpt-4o", false, false},
		{`{"messages":[{"role":"user","content":"say \"model\":\"x\" {]"}],"stream":true,"model":"openai/gpt-4o"}`, "openai/gpt-4o", true, false},
		{` {"model" : "m", "stream" : true , "stream_options" : {"include_obfuscation":false, "include_usage" : true} } `, "m", true, true},
		{`{"model":"openai\/gpt-4o\u00e9","stream":null,"stream_options":null}`, "openai/gpt-4oé", false, false},
		{`{"mod\u0065l":"escaped-key","tools":[{"a":[1,{"b":"]}"}]}],"n":1.5e3,"x":-0.1,"y":false}`, "escaped-key", false, false},
	}
	for _, c := range cases {
		model, stream, includeUsage, err := ScanRequest([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if model != c.model || stream != c.stream || includeUsage != c.includeUsage {
			t.Fatalf("%s: got %q %v %v", c.body, model, stream, includeUsage)
		}
	}
}

func TestScanRequestFixtures(t *testing.T) {
	for name, want := range map[string]string{
		"plain_text.request.json":          "VAR_chat_model_id",
		"streaming_tool_call.request.json": "gpt-4o-2024-08-06",
		"structured_output.request.json":   "gpt-4o-2024-08-06",
		"tool_result_turn.request.json":    "gpt-3.5-turbo",
	} {
		body := readFixture(t, name)
		model, stream, _, err := ScanRequest(body)
		if err != nil || model != want {
			t.Fatalf("%s: model %q err %v", name, model, err)
		}
		req, err := DecodeRequest(body)
		if err != nil || req.Stream != stream {
			t.Fatalf("%s: stream %v disagrees with DecodeRequest (%v)", name, stream, err)
		}
	}
}

func TestScanRequestRejects(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `"x"`, `{`, `{"model":"m"`, `{"model":"m"}x`, `{"model":"m",}`, `{"model" "m"}`,
		`{"model":5}`, `{"messages":[]}`, `{"model":""}`, `{"model":"m","stream":"true"}`,
		`{"model":"m","stream_options":{"include_usage":1}}`, `{"model":"m","stream_options":[]}`,
		`{"model":"m","x":[1}`, `{"model":"m","x":"unterminated}`, `{"model":"bad\escape"}`,
		// A member read twice: parsers disagree on which one counts (jsonscan.Seen).
		`{"model":"a","model":"b"}`, `{"model":"a","mod\u0065l":"a"}`, `{"model":"m","stream":false,"stream":true}`,
		`{"model":"m","stream_options":{"include_usage":true},"stream_options":null}`,
	} {
		if _, _, _, err := ScanRequest([]byte(body)); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Fatalf("%q: err = %v, want ErrInvalidRequest", body, err)
		}
	}
}

func TestWithIncludeUsage(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"model":"m","stream":true}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{`{}`, `{"stream_options":{"include_usage":true}}`},
		{` { "model":"m" } `, ` { "model":"m" ,"stream_options":{"include_usage":true}} `},
		{`{"stream_options":{"include_usage":false},"model":"m"}`, `{"stream_options":{"include_usage":true},"model":"m"}`},
		{`{"stream_options":{"include_obfuscation":false},"x":1}`, `{"stream_options":{"include_obfuscation":false,"include_usage":true},"x":1}`},
		{`{"stream_options":{ },"x":1}`, `{"stream_options":{ "include_usage":true},"x":1}`},
		{`{"stream_options":null,"x":"\"stream_options\""}`, `{"stream_options":{"include_usage":true},"x":"\"stream_options\""}`},
		{`{"stream_options":{"include_usage":true}}`, `{"stream_options":{"include_usage":true}}`},
		{`not json`, `not json`},
		{`{"a":1`, `{"a":1`},
	}
	for _, c := range cases {
		got := WithIncludeUsage([]byte("pre:"), []byte(c.in))
		if string(got) != "pre:"+c.want {
			t.Fatalf("%s\n got %s\nwant pre:%s", c.in, got, c.want)
		}
	}
	// Every fixture keeps its meaning and gains the option.
	for _, name := range []string{"streaming_text.request.json", "streaming_tool_call.request.json", "structured_output.request.json"} {
		body := readFixture(t, name)
		got := WithIncludeUsage(nil, body)
		_, _, includeUsage, err := ScanRequest(got)
		if err != nil || !includeUsage {
			t.Fatalf("%s: include_usage %v err %v", name, includeUsage, err)
		}
		want := decodeAny(t, body).(map[string]any)
		want["stream_options"] = map[string]any{"include_usage": true}
		if gotAny := decodeAny(t, got); !reflect.DeepEqual(gotAny, want) {
			t.Fatalf("%s: spliced body differs: %s", name, got)
		}
	}
}

func TestWithModel(t *testing.T) {
	cases := []struct{ in, model, want string }{
		{`{"model":"openai/gpt-4o","messages":[]}`, "gpt-4o", `{"model":"gpt-4o","messages":[]}`},
		{`{"messages":[{"content":"model"}], "model" : "x/y" }`, "y", `{"messages":[{"content":"model"}], "model" : "y" }`},
		{`{"messages":[]}`, "m\"q", `{"model":"m\"q","messages":[]}`},
		{` {}`, "m", ` {"model":"m"}`},
		{`{"model":"a","model":"b"}`, "c", `{"model":"c","model":"c"}`},
		{`[1]`, "m", `[1]`},
		{`{"model":}`, "m", `{"model":}`},
	}
	for _, c := range cases {
		got := WithModel(nil, []byte(c.in), c.model)
		if string(got) != c.want {
			t.Fatalf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestScanUsageAndModel(t *testing.T) {
	u, ok := ScanUsage(readFixture(t, "plain_text.response.json"))
	if !ok || u != (llm.Usage{InputTokens: 19, OutputTokens: 10, Known: true}) {
		t.Fatalf("usage %+v ok %v", u, ok)
	}
	if m := ScanModel(readFixture(t, "plain_text.response.json")); m != "gpt-5.4" {
		t.Fatalf("model = %q", m)
	}
	body := []byte(`{"choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":999}"}}],"usage":{"prompt_tokens":5,"completion_tokens":7,
		"prompt_tokens_details":{"cached_tokens":2,"cache_write_tokens":1},"completion_tokens_details":{"reasoning_tokens":3}}}`)
	u, ok = ScanUsage(body)
	want := llm.Usage{InputTokens: 5, OutputTokens: 7, CacheReadTokens: 2, CacheWriteTokens: 1, ReasoningTokens: 3, Known: true}
	if !ok || u != want {
		t.Fatalf("usage %+v ok %v", u, ok)
	}
	for _, b := range []string{`{"usage":null}`, `{"id":"x"}`, `nope`, `{"usage":{"prompt_tokens":1}`} {
		if u, ok := ScanUsage([]byte(b)); ok || u.Known {
			t.Fatalf("%s: usage reported: %+v", b, u)
		}
	}
	if m := ScanModel([]byte(`{"model":5}`)); m != "" {
		t.Fatalf("model = %q", m)
	}
}

// TestScanChunkFixtures scans every data payload of the recorded streams the way the
// passthrough relay does, and checks it agrees with the full decoder.
func TestScanChunkFixtures(t *testing.T) {
	for _, name := range []string{"streaming_text.sse", "streaming_length.sse", "streaming_tool_call.sse",
		"streaming_structured_output.sse", "streaming_tool_call_usage.synthetic.sse"} {
		body := readFixture(t, name)
		var last llm.Usage
		usageOnly := 0
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
			if !ok {
				continue
			}
			u, has, only := ScanChunk(data)
			if only && !has {
				t.Fatalf("%s: usageOnly without usage", name)
			}
			if has {
				last = u
			}
			if only {
				usageOnly++
			}
		}
		want := assemble(t, NewStreamDecoder(bytes.NewReader(body)))
		if last != want.usage || usageOnly != want.usageEvents {
			t.Fatalf("%s: ScanChunk usage %+v (%d usage-only), decoder %+v (%d)", name, last, usageOnly, want.usage, want.usageEvents)
		}
	}
}

func TestScanChunkShapes(t *testing.T) {
	cases := []struct {
		data        string
		has, only   bool
		inputTokens int64
	}{
		{`[DONE]`, false, false, 0},
		{`{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":null}`, false, false, 0},
		{`{"choices":[ ],"usage":{"prompt_tokens":4}}`, true, true, 4},
		{`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":4}}`, true, false, 4},
		// Azure's first chunk: empty choices, prompt filter results, no usage.
		{`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}`, false, false, 0},
		{`{"choices":[],"usage":{"prompt_tokens":4}`, false, false, 0},
	}
	for _, c := range cases {
		u, has, only := ScanChunk([]byte(c.data))
		if has != c.has || only != c.only || u.InputTokens != c.inputTokens {
			t.Fatalf("%s: got %+v %v %v", c.data, u, has, only)
		}
	}
}

func TestScanStreamError(t *testing.T) {
	ue := ScanStreamError([]byte(`{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`))
	if ue == nil || ue.Type != "server_error" || ue.Message != "The server had an error" || ue.Status != 0 {
		t.Fatalf("got %+v", ue)
	}
	for _, data := range []string{
		`{"id":"c","choices":[{"index":0,"delta":{"content":"error"}}]}`,
		`{"id":"c","choices":[{"index":0,"delta":{"content":"\"error\":1"}}]}`,
		`{"id":"c","error":null}`,
		`[DONE]`,
	} {
		if ue := ScanStreamError([]byte(data)); ue != nil {
			t.Fatalf("%s: reported %+v", data, ue)
		}
	}
}
