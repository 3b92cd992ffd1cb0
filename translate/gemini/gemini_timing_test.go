package gemini

import (
	"bytes"
	"io"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func BenchmarkEncodeRequest(b *testing.B) {
	reply, err := DecodeResponse(readFixture(b, "tool_call_forced_thought_signature.response.json"))
	if err != nil {
		b.Fatal(err)
	}
	temp := 0.2
	req := &llm.Request{
		Messages: []llm.Message{
			systemMsg("You are a helpful assistant that concatenates strings."),
			userMsg("put word: hello and word: world into a string"),
			reply.AssistantMessage(),
			toolMsg(reply.ToolCalls[0].ID, "", `{"result":"hello world"}`),
		},
		Tools:       []llm.Tool{divideTool, divideTool},
		ToolChoice:  llm.ToolChoice{Mode: llm.ToolChoiceAuto},
		Temperature: &temp,
		MaxTokens:   512,
	}
	buf, err := EncodeRequest(nil, req)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = EncodeRequest(buf[:0], req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	for _, name := range []string{"plain_text", "tool_call_forced_thought_signature"} {
		body := readFixture(b, name+".response.json")
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeResponse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamDecoder replays the recorded text stream; ns/op and allocs/op are per
// stream (decoder set-up included), ns/chunk divides by its chunks.
func BenchmarkStreamDecoder(b *testing.B) {
	raw := readFixture(b, "streaming_text.sse")
	chunks := bytes.Count(raw, []byte("data: "))
	r := bytes.NewReader(raw)
	b.SetBytes(int64(len(raw) / chunks))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(raw)
		d := NewStreamDecoder(r)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*chunks), "ns/chunk")
}
