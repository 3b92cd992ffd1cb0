package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

// TestTranslatedStreamTextCaptured: with capture_content the run span's output holds the
// whole text of a translated stream, assembled delta by delta; without it there is none.
func TestTranslatedStreamTextCaptured(t *testing.T) {
	for _, capture := range []bool{true, false} {
		h := newHarness(t, harnessOptions{captureContent: capture,
			anthropicReplies: []upstreamReply{sseReply(t, "anthropic/streaming_text.sse")},
			geminiReplies:    []upstreamReply{sseReply(t, "gemini/streaming_thinking.synthetic.sse")}})
		for _, c := range []struct{ path, model, body, want string }{
			{"/v1/chat/completions", "claude-sonnet-4-5", `{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
				streamedText(t, "anthropic/streaming_text.sse")},
			{"/v1/messages", "gemini-2.5-flash", `{"model":"gemini-2.5-flash","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
				"Short wavelengths scatter more, so the sky looks blue."},
		} {
			resp, _ := h.send(http.MethodPost, c.path, c.body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d", c.path, resp.StatusCode)
			}
			out := attr(waitSpan(t, h, "chat "+c.model, trace.SpanKindServer), "gen_ai.output.messages").AsString()
			if capture && !strings.Contains(out, `"content":"`+c.want+`"`) {
				t.Errorf("%s: output %s, want the text %q", c.path, out, c.want)
			}
			if !capture && out != "" {
				t.Errorf("%s: output %s recorded without capture_content", c.path, out)
			}
		}
	}
}

// streamedText is the text of an Anthropic stream fixture's text deltas, joined.
func streamedText(t *testing.T, name string) string {
	var b strings.Builder
	for _, line := range strings.Split(string(fixture(t, name)), "\n") {
		const mark = `"type":"text_delta","text":"`
		if i := strings.Index(line, mark); i >= 0 {
			rest := line[i+len(mark):]
			b.WriteString(rest[:strings.Index(rest, `"`)])
		}
	}
	if b.Len() == 0 {
		t.Fatalf("%s has no text deltas", name)
	}
	return b.String()
}

func TestStreamAssemblerReasoningBlocks(t *testing.T) {
	events := []llm.StreamEvent{
		{Type: llm.EventReasoning, Text: "first "}, {Type: llm.EventReasoning, Text: "block"},
		{Type: llm.EventReasoning, Signature: "sig1"},
		{Type: llm.EventReasoning, Text: "second"},
		{Type: llm.EventText, Text: "Hello, "}, {Type: llm.EventText, Text: "world"},
	}
	for _, keep := range []bool{true, false} {
		var a streamAssembler
		a.keepText(keep)
		for _, ev := range events {
			a.add(ev)
		}
		r := a.response()
		if !r.HasText || len(r.Reasoning) != 2 || r.Reasoning[0].Signature != "sig1" {
			t.Fatalf("keep %v: %+v", keep, r)
		}
		want := [3]string{"Hello, world", "first block", "second"}
		if !keep {
			want = [3]string{}
		}
		if got := [3]string{r.Text, r.Reasoning[0].Text, r.Reasoning[1].Text}; got != want {
			t.Errorf("keep %v: %q, want %q", keep, got, want)
		}
	}
}
