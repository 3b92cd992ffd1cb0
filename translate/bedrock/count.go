package bedrock

import (
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// Token counting is Bedrock's CountTokens API: POST /model/{modelId}/count-tokens with the
// Converse request as {"input":{"converse":{...}}} (messages, system, toolConfig and
// additionalModelRequestFields; no inferenceConfig), answered with {"inputTokens": n}.
// Bedrock counts for the models it has a count for (Claude); others are its 400.

// EncodeCountTokens appends the CountTokens body for req to dst. Errors wrap
// llm.ErrInvalidRequest; on error dst is returned unchanged in length.
func EncodeCountTokens(dst []byte, req *llm.Request, opts EncodeOptions) ([]byte, error) {
	mark := len(dst)
	opts.forCount = true
	out, err := encodeRequest(append(dst, `{"input":{"converse":`...), req, opts)
	if err != nil {
		return dst[:mark], fmt.Errorf("encode bedrock count tokens: %w", err)
	}
	return append(out, "}}"...), nil
}

// DecodeCountTokens reads the inputTokens of a CountTokens reply.
func DecodeCountTokens(body []byte) (int64, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return 0, fmt.Errorf("decode bedrock count tokens: %w", err)
	}
	n := v.Get("inputTokens")
	if n == nil || n.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("decode bedrock count tokens: no inputTokens")
	}
	return n.Int64()
}
