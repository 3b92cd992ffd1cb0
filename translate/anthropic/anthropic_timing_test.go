package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func benchRequest() *llm.Request {
	schema := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"units":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`)
	return &llm.Request{
		Model: "claude-3-7-sonnet-latest", MaxTokens: 512, Temperature: ptr(0.7),
		Tools: []llm.Tool{{Name: "get_weather", Description: "Get weather", Parameters: schema}},
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("You are a helpful weather assistant.")}},
			userText("What's the weather in San Francisco? Use fahrenheit."),
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				llm.TextPart("I'll get the current weather in San Francisco for you in Fahrenheit."),
				toolCallPart("toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", "get_weather", `{"city":"San Francisco","units":"fahrenheit"}`),
			}},
			toolResult("toolu_01TZR6ZrLHdpAWdmhVPuDfjQ", "The weather in San Francisco is 68 degrees fahrenheit."),
		},
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req := benchRequest()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = EncodeRequest(buf[:0], req); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := readFixture(b, "tool_call.response.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamDecoder decodes a whole recorded stream per iteration and reports the cost
// per canonical event.
func BenchmarkStreamDecoder(b *testing.B) {
	raw := readFixture(b, "streaming_tool_call.sse")
	r := bytes.NewReader(raw)
	events := 0
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(raw)
		d := NewStreamDecoder(r)
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
