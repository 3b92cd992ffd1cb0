package proxy

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/tracegate/tracegate/internal/cloudfake"
	"go.opentelemetry.io/otel/trace"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden Messages streams in testdata/messages")

// spanIDInID matches the run's span id inside minted msg_ and toolu_ ids, which differs per
// run; golden files hold it as msg_RUN.
var spanIDInID = regexp.MustCompile(`msg_[0-9a-f]{16}`)

// postMessagesStream posts a streaming Messages request and returns the raw SSE body.
func postMessagesStream(t *testing.T, h *harness, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "sk-ant-caller-key-must-not-leak")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = spanIDInID.ReplaceAll(got, []byte("msg_RUN"))
	path := filepath.Join("testdata", "messages", name+".golden.sse")
	if *updateGolden {
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
		t.Errorf("stream differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// eventNames lists the event: names of an SSE body, in order, runs of deltas folded.
func eventNames(raw []byte) []string {
	var names []string
	for _, line := range strings.Split(string(raw), "\n") {
		name, ok := strings.CutPrefix(line, "event: ")
		if !ok {
			continue
		}
		if n := len(names); n > 0 && name == "content_block_delta" && names[n-1] == name {
			continue
		}
		names = append(names, name)
	}
	return names
}

// TestMessagesTranslatedStreamsGolden: translated streams have Anthropic's exact event
// sequence, checked byte for byte against golden files and parsed by the official SDK's
// accumulator.
func TestMessagesTranslatedStreamsGolden(t *testing.T) {
	const weather = `{"model":%q,"max_tokens":%d,"stream":true,"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":"What's the weather in San Francisco?"}],
		"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}]%s}`
	cases := []struct {
		name, model, fixture string
		maxTokens            int
		extra                string
		stop                 anthropic.StopReason
		blocks               []string
		text                 string
	}{
		{"openai_text", "gpt-4o", "openai/streaming_text.sse", 1024, "", anthropic.StopReasonEndTurn, []string{"text"}, ""},
		{"openai_tool_use", "gpt-4o", "openai/streaming_tool_call.sse", 1024, "", anthropic.StopReasonToolUse, []string{"tool_use"}, ""},
		{"openai_max_tokens", "gpt-4o", "openai/streaming_length.sse", 5, "", anthropic.StopReasonMaxTokens, []string{"text"}, ""},
		{"gemini_tool_use", "gemini-2.0-flash", "gemini/streaming_tool_call.sse", 1024, "", anthropic.StopReasonToolUse, []string{"tool_use"}, ""},
		{"gemini_thinking", "gemini-2.5-flash", "gemini/streaming_thinking.synthetic.sse", 2048,
			`,"thinking":{"type":"enabled","budget_tokens":1024}`, anthropic.StopReasonEndTurn, []string{"thinking", "text"},
			"Short wavelengths scatter more, so the sky looks blue."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply := sseReply(t, c.fixture)
			var h *harness
			var fake *fakeUpstream
			if strings.HasPrefix(c.model, "gemini") {
				h = newHarness(t, harnessOptions{geminiReplies: []upstreamReply{reply}})
				fake = h.gemini
			} else {
				h = newHarness(t, harnessOptions{replies: []upstreamReply{reply}})
				fake = h.upstream
			}
			status, hdr, raw := postMessagesStream(t, h, fmt.Sprintf(weather, c.model, c.maxTokens, c.extra))
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d %s: %s", status, hdr.Get("Content-Type"), raw)
			}
			compareGolden(t, c.name, raw)
			names := eventNames(raw)
			if names[0] != "message_start" || names[1] != "ping" || names[len(names)-2] != "message_delta" || names[len(names)-1] != "message_stop" {
				t.Errorf("event sequence = %v", names)
			}
			msg := accumulate(t, raw)
			if msg.StopReason != c.stop || len(msg.Content) != len(c.blocks) {
				t.Fatalf("accumulated %s", msg.RawJSON())
			}
			for i, b := range c.blocks {
				if msg.Content[i].Type != b {
					t.Errorf("block %d is %s, want %s", i, msg.Content[i].Type, b)
				}
			}
			if c.text != "" && msg.Content[len(msg.Content)-1].Text != c.text {
				t.Errorf("text = %q", msg.Content[len(msg.Content)-1].Text)
			}
			if msg.Usage.OutputTokens == 0 {
				t.Errorf("no cumulative usage in message_delta: %+v", msg.Usage)
			}
			run := waitSpan(t, h, "chat "+c.model, trace.SpanKindServer)
			if attr(run, "gen_ai.usage.output_tokens").AsInt64() != msg.Usage.OutputTokens {
				t.Errorf("span output tokens %v, client %d", attr(run, "gen_ai.usage.output_tokens").String(), msg.Usage.OutputTokens)
			}
			_, body := upstreamJSON(t, fake, 0)
			if c.name == "gemini_thinking" {
				tc := body["generationConfig"].(map[string]any)["thinkingConfig"].(map[string]any)
				if tc["thinkingBudget"] != 1024.0 || tc["includeThoughts"] != true {
					t.Errorf("thinkingConfig = %v", tc)
				}
			}
		})
	}
}

// accumulate parses a Messages SSE body with the SDK's own event types and accumulator.
func accumulate(t *testing.T, raw []byte) anthropic.Message {
	t.Helper()
	var msg anthropic.Message
	for _, frame := range strings.Split(string(raw), "\n\n") {
		_, data, ok := strings.Cut(frame, "\ndata: ")
		if !ok {
			continue
		}
		var ev anthropic.MessageStreamEventUnion
		if err := ev.UnmarshalJSON([]byte(data)); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if ev.Type == "ping" || ev.Type == "error" {
			continue
		}
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate %s: %v", data, err)
		}
	}
	return msg
}

// TestMessagesStreamThroughSDK: the SDK's streaming client reads a translated stream.
func TestMessagesStreamThroughSDK(t *testing.T) {
	h := newHarness(t, harnessOptions{replies: []upstreamReply{sseReply(t, "openai/streaming_tool_call.sse")}})
	client := anthropicClient(h)
	stream := client.Messages.NewStreaming(context.Background(), weatherParams("gpt-4o"))
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Name != "get_weather" || !strings.Contains(string(msg.Content[0].Input), "New York City") {
		t.Fatalf("accumulated %s", msg.RawJSON())
	}
	_, body := upstreamJSON(t, h.upstream, 0)
	if body["stream"] != true || body["stream_options"].(map[string]any)["include_usage"] != true {
		t.Errorf("upstream body = %v", body)
	}
}

// TestMessagesPassthroughStreamBreaks: an Anthropic stream cut before message_stop ends the
// client's stream with an error event, never a clean end; an error event is passed on.
func TestMessagesPassthroughStreamBreaks(t *testing.T) {
	full := fixture(t, "anthropic/streaming_text.sse")
	cut := full[:bytes.Index(full, []byte("event: message_delta"))]
	for name, reply := range map[string][]byte{
		"truncated":  cut,
		"overloaded": fixture(t, "anthropic/error_overloaded_midstream.synthetic.sse"),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Body: reply}}})
			client := anthropicClient(h)
			stream := client.Messages.NewStreaming(context.Background(), weatherParams("claude-3-7-sonnet-20250219"))
			for stream.Next() {
			}
			if stream.Err() == nil {
				t.Fatal("a broken stream ended cleanly")
			}
			run := waitSpan(t, h, "chat claude-3-7-sonnet-20250219", trace.SpanKindServer)
			if attr(run, "error.type").AsString() == "" {
				t.Errorf("run span has no error.type")
			}
		})
	}
}

// TestMessagesTranslatedStreamError: a translated stream that breaks ends with an Anthropic
// error event whose type is Anthropic's, never a clean message_stop.
func TestMessagesTranslatedStreamError(t *testing.T) {
	body := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}]}}],\"responseId\":\"r\"}\n\n" +
		"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n"
	h := newHarness(t, harnessOptions{geminiReplies: []upstreamReply{{Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Body: []byte(body)}}})
	status, _, raw := postMessagesStream(t, h, `{"model":"gemini-2.0-flash","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	names := eventNames(raw)
	if status != 200 || names[len(names)-1] != "error" || !bytes.Contains(raw, []byte(`"type":"overloaded_error"`)) || bytes.Contains(raw, []byte("message_stop")) {
		t.Errorf("stream = %s", raw)
	}
	run := waitSpan(t, h, "chat gemini-2.0-flash", trace.SpanKindServer)
	if attr(run, "error.type").AsString() == "" {
		t.Errorf("run span has no error.type")
	}
}

// TestMessagesBedrockStreamExceptionTypes: Bedrock's in-stream exceptions end a Messages
// stream with the Anthropic error type a client retries on (rate_limit_error,
// overloaded_error) or gives up on, as their HTTP forms do; every one used to read api_error.
func TestMessagesBedrockStreamExceptionTypes(t *testing.T) {
	for exception, want := range map[string]string{
		"throttlingException":         "rate_limit_error",
		"serviceUnavailableException": "overloaded_error",
		"modelNotReadyException":      "overloaded_error",
		"validationException":         "invalid_request_error",
		"modelTimeoutException":       "timeout_error",
		"internalServerException":     "api_error",
		"modelStreamErrorException":   "api_error",
	} {
		t.Run(exception, func(t *testing.T) {
			frames := cloudfake.ConverseFrames(t, `{"event":"messageStart","payload":{"role":"assistant"}}`+"\n"+
				`{"event":"contentBlockDelta","payload":{"contentBlockIndex":0,"delta":{"text":"par"}}}`+"\n"+
				`{"exception":"`+exception+`","payload":{"message":"fault `+exception+`"}}`)
			h, _ := checkedFake(t, "bedrock", bedrockProvider, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
				_, _ = w.Write(frames)
			})
			status, _, raw := postMessagesStream(t, h, `{"model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			names := eventNames(raw)
			if status != 200 || len(names) == 0 || names[len(names)-1] != "error" || bytes.Contains(raw, []byte("message_stop")) {
				t.Fatalf("status %d, stream = %s", status, raw)
			}
			if !bytes.Contains(raw, []byte(`"type":"`+want+`"`)) || !bytes.Contains(raw, []byte("fault "+exception)) {
				t.Errorf("want error type %s and the exception's message, stream = %s", want, raw)
			}
		})
	}
}
