package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func addFixtureSeeds(f *testing.F, suffix string) {
	for _, name := range fixtureNames(f, suffix) {
		f.Add(readFixture(f, name+suffix))
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addFixtureSeeds(f, ".response.json")
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"s":"\u0001"}}}]}}]}`))
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			return
		}
		for _, c := range r.ToolCalls {
			if !json.Valid(c.Arguments) || c.Arguments[0] != '{' || c.ID == "" {
				t.Fatalf("bad call %+v", c)
			}
		}
		if r.FinishReason == "" {
			t.Fatal("no finish reason")
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addFixtureSeeds(f, ".sse")
	f.Add([]byte("data: {\"error\":{\"code\":500,\"status\":\"INTERNAL\"}}\n\n"))
	f.Add([]byte("data: {\"promptFeedback\":{\"blockReason\":\"OTHER\"}}\r\n\r\ndata: [DONE]\r\n\r\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := NewStreamDecoder(bytes.NewReader(stream))
		finished := false
		for i := 0; ; i++ {
			if i > len(stream)+8 {
				t.Fatal("more events than input bytes")
			}
			ev, err := d.Next()
			if err != nil {
				if errors.Is(err, io.EOF) && !finished {
					t.Fatal("io.EOF without a finish event")
				}
				return
			}
			switch ev.Type {
			case llm.EventFinish:
				finished = true
			case llm.EventToolCallDelta:
				if !json.Valid([]byte(ev.Text)) {
					t.Fatalf("arguments not JSON: %q", ev.Text)
				}
			}
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`))
	f.Add(429, quotaBody("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "36s"))
	f.Add(429, quotaBody("PerMinute", "1.5s"))
	f.Add(503, []byte(`[{"error":{"code":503}}]`))
	f.Add(500, []byte("oops"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := DecodeError("google", status, body, headers("Retry-After", "3"))
		if e == nil || e.Message == "" || e.RetryAfter < 0 || e.RetryAfter > maxRetryDelay || e.Status != status {
			t.Fatalf("bad error %+v", e)
		}
		_ = e.Error()
	})
}

// FuzzEncodeRequest feeds caller-controlled JSON fragments through the encoder: the output
// must be valid JSON or the error must blame the request.
func FuzzEncodeRequest(f *testing.F) {
	f.Add(`{"a":1}`, `{"output":42}`, `{"$schema":"x","type":"object"}`, "hi")
	f.Add(`{"s":"\u0001"}`, "plain text", `{"type":"object","properties":{"$schema":{}}}`, "\xff")
	f.Add(``, `[1]`, `null`, "")
	f.Fuzz(func(t *testing.T, args, content, schema, text string) {
		req := &llm.Request{
			Messages: []llm.Message{
				userMsg(text),
				{Role: llm.RoleAssistant, Parts: []llm.Part{llm.TextPart(text),
					{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "c", Name: "f", Arguments: json.RawMessage(args), Signature: text}}}},
				toolMsg("c", "", content),
			},
			Tools:          []llm.Tool{{Name: "f", Description: text, Parameters: json.RawMessage(schema)}},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(schema)},
		}
		body, err := EncodeRequest(nil, req)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
	})
}
