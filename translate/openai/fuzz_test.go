package openai

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

// addFixtures seeds a fuzz target with every testdata file whose name has the suffix.
func addFixtures(f *testing.F, suffix string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*"+suffix))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addFixtures(f, ".response.json")
	f.Add([]byte(`{"error":{"message":"x","code":5}}`))
	f.Add([]byte(`{"choices":[{"message":{"tool_calls":[{"index":-1,"function":{"arguments":{"a":1}}}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			if errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("upstream body blamed on the caller: %v", err)
			}
			return
		}
		for _, c := range resp.ToolCalls {
			if !jsonw.IsObject(c.Arguments) {
				t.Fatalf("arguments %q are not a JSON object", c.Arguments)
			}
		}
		// Whatever was decoded re-encodes to valid JSON.
		if err := fastjson.ValidateBytes(EncodeResponse(nil, resp, 1)); err != nil {
			t.Fatalf("EncodeResponse produced invalid JSON: %v", err)
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addFixtures(f, ".sse")
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-1,\"id\":\"a\"}]}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: error\ndata: {\"message\":\"x\"}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := NewStreamDecoder(bytes.NewReader(body))
		enc := NewChunkEncoder("id", "m", 1, true)
		var out []byte
		opened := 0
		for range len(body) + 10 {
			ev, err := d.Next()
			if err != nil {
				if err == io.EOF {
					out = enc.Finish(out)
					// What the encoder makes of any decoded stream decodes again.
					again := NewStreamDecoder(bytes.NewReader(out))
					for {
						if _, err := again.Next(); err != nil {
							if err != io.EOF {
								t.Fatalf("re-encoded stream fails: %v\n%s", err, out)
							}
							break
						}
					}
				}
				return
			}
			switch ev.Type {
			case llm.EventToolCallStart:
				if ev.ToolIndex != opened {
					t.Fatalf("tool call %d opened, expected %d", ev.ToolIndex, opened)
				}
				opened++
			case llm.EventToolCallDelta:
				if ev.ToolIndex < 0 || ev.ToolIndex >= opened {
					t.Fatalf("delta for unopened call %d", ev.ToolIndex)
				}
			}
			out = enc.Encode(out, ev)
		}
		t.Fatal("decoder produced more events than the input could hold")
	})
}

func FuzzDecodeRequest(f *testing.F) {
	addFixtures(f, ".request.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stop":"s","n":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _, err := DecodeRequestOptions(body)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		// Anything accepted must be sendable to an OpenAI upstream.
		out, err := EncodeRequest(nil, req)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		if _, _, err := DecodeRequestOptions(out); err != nil {
			t.Fatalf("encoded request does not decode: %v\n%s", err, out)
		}
	})
}

func FuzzScanRequest(f *testing.F) {
	addFixtures(f, ".request.json")
	f.Add([]byte(`{"model":"a\u0041","stream":true,"stream_options":{"include_usage":false}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		model, _, _, err := ScanRequest(body)
		spliced := WithIncludeUsage(nil, body)
		renamed := WithModel(nil, body, "x\"y")
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		if model == "" {
			t.Fatal("accepted a request without a model")
		}
		if _, _, includeUsage, err := ScanRequest(spliced); err != nil || !includeUsage {
			t.Fatalf("WithIncludeUsage broke the body: %v\n%s", err, spliced)
		}
		if got, _, _, err := ScanRequest(renamed); err != nil || got != "x\"y" {
			t.Fatalf("WithModel gave model %q, err %v\n%s", got, err, renamed)
		}
		// Splicing keeps a valid body valid.
		if fastjson.ValidateBytes(body) == nil {
			for _, out := range [][]byte{spliced, renamed} {
				if err := fastjson.ValidateBytes(out); err != nil {
					t.Fatalf("spliced body is invalid: %v\n%s", err, out)
				}
			}
		}
	})
}

func FuzzScanChunk(f *testing.F) {
	addFixtures(f, ".sse")
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, has, only := ScanChunk(data)
		if only && !has || has != u.Known {
			t.Fatalf("inconsistent result %+v %v %v", u, has, only)
		}
		ScanUsage(data)
		ScanModel(data)
		if ue := ScanStreamError(data); ue != nil && ue.Message == "" && ue.Type == "" {
			t.Fatalf("empty stream error from %q", data)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(429, []byte(`{"error":{"message":"m","type":"t","code":"insufficient_quota"}}`))
	f.Add(502, []byte(strings.Repeat("é", 600)))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		ue := DecodeError("p", status, body, func(string) string { return "" })
		if ue == nil || ue.Provider != "p" || ue.Status != status {
			t.Fatalf("got %+v", ue)
		}
		if len(ue.Message) > 4*translate.MaxErrorText && len(ue.Message) > len(body) {
			t.Fatalf("message longer than the body: %d bytes", len(ue.Message))
		}
	})
}
