package bedrock

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tracegate/tracegate/llm"
)

func BenchmarkEncodeRequest(b *testing.B) {
	temp := 0.3
	req := &llm.Request{
		Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("You are a weather bot.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("Weather in Paris and in Rome?")}},
		},
		Tools:       []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		Temperature: &temp, MaxTokens: 512,
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = EncodeRequest(buf[:0], req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"Sunny in Paris."},{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Rome"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":25,"outputTokens":9,"totalTokens":34},"metrics":{"latencyMs":410}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecoder(b *testing.B) {
	var stream bytes.Buffer
	enc := eventstream.NewEncoder()
	add := func(event, payload string) {
		enc.Encode(&stream, eventstream.Message{Payload: []byte(payload), Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue(event)},
			{Name: ":message-type", Value: eventstream.StringValue("event")},
		}})
	}
	add("messageStart", `{"role":"assistant"}`)
	for range 50 {
		add("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"word "},"p":"abcdefgh"}`)
	}
	add("messageStop", `{"stopReason":"end_turn"}`)
	add("metadata", `{"usage":{"inputTokens":10,"outputTokens":50,"totalTokens":60}}`)
	raw := stream.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewStreamDecoder(bytes.NewReader(raw))
		for {
			if _, err := d.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
