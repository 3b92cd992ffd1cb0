package gemini

import (
	"fmt"
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// CountTokensPath is the URL path of the countTokens call for model.
func CountTokensPath(model string) string {
	return modelPath(model) + ":countTokens"
}

// EncodeCountTokens appends a countTokens body for req to dst: the GenerateContentRequest it
// would send, wrapped as generateContentRequest so that the system instruction and tools are
// counted too (countTokens' own contents field counts only the conversation).
func EncodeCountTokens(dst []byte, req *llm.Request) ([]byte, error) {
	if req == nil {
		return dst, fmt.Errorf("encode gemini count tokens: nil request: %w", llm.ErrInvalidRequest)
	}
	sent := *req
	sent.MaxTokens, sent.Stop, sent.Temperature, sent.TopP, sent.TopK = 0, nil, nil, nil, nil
	orig := len(dst)
	dst = append(dst, `{"generateContentRequest":{"model":`...)
	dst = appendModelName(dst, req.Model)
	dst = append(dst, ',')
	body, err := encodeRequest(dst, &sent)
	if err != nil {
		return dst[:orig], fmt.Errorf("encode gemini count tokens: %w: %w", err, llm.ErrInvalidRequest)
	}
	// encodeRequest wrote its own opening brace after the comma; drop it.
	inner := len(dst)
	body = append(body[:inner], body[inner+1:]...)
	return append(body, '}'), nil
}

// DecodeCountTokens reads totalTokens from a countTokens reply.
func DecodeCountTokens(body []byte) (int64, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return 0, fmt.Errorf("decode gemini count tokens: %w", err)
	}
	t := v.Get("totalTokens")
	if t == nil || t.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("decode gemini count tokens: no totalTokens")
	}
	return t.Int64()
}

// appendModelName appends the model's resource name ("models/..." or "tunedModels/...") as
// a JSON string.
func appendModelName(dst []byte, model string) []byte {
	if !strings.HasPrefix(model, "tunedModels/") && !strings.HasPrefix(model, "models/") {
		model = "models/" + model
	}
	return jsonw.String(dst, model)
}
