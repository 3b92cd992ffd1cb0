package openai

import (
	"bytes"
	"io"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeRequest(readFixture(b, "tool_call.request.json"))
	if err != nil {
		b.Fatal(err)
	}
	req.Stream = true
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = EncodeRequest(buf[:0], req); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := readFixture(b, "tool_call.request.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	for _, name := range []string{"plain_text.response.json", "tool_call.response.json"} {
		body := readFixture(b, name)
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

func BenchmarkEncodeResponse(b *testing.B) {
	resp, err := DecodeResponse(readFixture(b, "tool_call.response.json"))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeResponse(buf[:0], resp, 1)
	}
}

// BenchmarkStreamDecoder reports the cost per chunk of decoding a recorded stream.
func BenchmarkStreamDecoder(b *testing.B) {
	body := readFixture(b, "streaming_text.sse")
	chunks := bytes.Count(body, []byte("data: "))
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
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

func BenchmarkScanRequest(b *testing.B) {
	body := readFixture(b, "structured_output.request.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ScanRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWithIncludeUsage(b *testing.B) {
	body := readFixture(b, "streaming_tool_call.request.json")
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = WithIncludeUsage(buf[:0], body)
	}
}

func BenchmarkWithModel(b *testing.B) {
	body := readFixture(b, "tool_call.request.json")
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = WithModel(buf[:0], body, "gpt-4o")
	}
}

func BenchmarkScanUsage(b *testing.B) {
	body := readFixture(b, "plain_text.response.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ScanUsage(body); !ok {
			b.Fatal("no usage")
		}
	}
}

func BenchmarkScanChunk(b *testing.B) {
	cases := map[string][]byte{
		"content":  []byte(`{"id":"chatcmpl-A","object":"chat.completion.chunk","created":1725392480,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" weather"},"logprobs":null,"finish_reason":null}],"usage":null}`),
		"usage":    []byte(`{"id":"chatcmpl-A","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":30,"total_tokens":44,"completion_tokens_details":{"reasoning_tokens":0}}}`),
		"no usage": []byte(`{"id":"chatcmpl-A","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" app"},"logprobs":null,"finish_reason":null}]}`),
	}
	for name, data := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ScanChunk(data)
			}
		})
	}
}

func BenchmarkChunkEncoder(b *testing.B) {
	events := []llm.StreamEvent{
		{Type: llm.EventStart, ID: "msg_1", Model: "claude"},
		{Type: llm.EventText, Text: "Hello, "},
		{Type: llm.EventText, Text: "world \"quoted\"\n"},
		{Type: llm.EventToolCallStart, ToolIndex: 1, ToolCallID: "toolu_1", ToolName: "get_weather"},
		{Type: llm.EventToolCallDelta, ToolIndex: 1, Text: `{"city":`},
		{Type: llm.EventToolCallDelta, ToolIndex: 1, Text: `"Paris"}`},
		{Type: llm.EventFinish, FinishReason: llm.FinishToolCalls},
		{Type: llm.EventUsage, Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, Known: true}},
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		enc := NewChunkEncoder("chatcmpl-1", "claude", 1, true)
		buf = buf[:0]
		for _, ev := range events {
			buf = enc.Encode(buf, ev)
		}
		buf = enc.Finish(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

func BenchmarkScanReply(b *testing.B) {
	body := readFixture(b, "plain_text.response.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ScanReply(body); err != nil {
			b.Fatal(err)
		}
	}
}
