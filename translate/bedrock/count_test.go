package bedrock

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEncodeCountTokens(t *testing.T) {
	req := &llm.Request{Model: "anthropic.claude-sonnet-4-5-20250929-v1:0", Messages: []llm.Message{
		{Role: llm.RoleSystem, Parts: []llm.Part{{Type: llm.PartText, Text: "Be brief."}}},
		{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hello"}}},
	}, Tools: []llm.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object"}`)}}}
	out, err := EncodeCountTokens([]byte("x"), req, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Input struct {
			Converse map[string]json.RawMessage `json:"converse"`
		} `json:"input"`
	}
	if err := json.Unmarshal(out[1:], &body); err != nil || out[0] != 'x' {
		t.Fatalf("%s: %v", out, err)
	}
	c := body.Input.Converse
	if c["messages"] == nil || c["system"] == nil || c["toolConfig"] == nil || c["inferenceConfig"] != nil || len(c) != 3 {
		t.Errorf("converse input %s", out)
	}
	if _, err := EncodeCountTokens(nil, &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}}}}}}, EncodeOptions{}); !errors.Is(err, llm.ErrInvalidRequest) {
		t.Errorf("bad request: %v", err)
	}
}

func TestDecodeCountTokens(t *testing.T) {
	if n, err := DecodeCountTokens([]byte(`{"inputTokens":123}`)); err != nil || n != 123 {
		t.Errorf("got %d, %v", n, err)
	}
	for _, bad := range []string{``, `{}`, `{"inputTokens":"1"}`, `[`} {
		if _, err := DecodeCountTokens([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
