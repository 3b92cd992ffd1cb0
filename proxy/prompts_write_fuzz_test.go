package proxy

import (
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

// FuzzDecodePromptChange: any body either decodes or is refused as INVALID_REQUEST (400 or
// 413), never anything else and never a panic.
func FuzzDecodePromptChange(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","content":[{"id":"1","role":"user","content":"x"}],"model":"m","temperature":0.5}`,
		`{"content":null,"stopSequences":["a"],"maxOutputTokens":3}`, `{"x":1}`, `[`, `null`, `{} {}`,
		`{"maxOutputTokens":1e99}`, `{"content":[{"role":7}]}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := decodePromptChange(body)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) && !errors.Is(err, errBodyTooLarge) {
				t.Fatalf("error is neither INVALID_REQUEST nor too large: %v", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil change without an error")
		}
	})
}
