package anthropic

import (
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// VertexMessagesBody appends body, a Messages request, to dst as Vertex AI's rawPredict and
// streamRawPredict take it: the model is in the URL, so "model" is left out, and the API
// version is the body's leading anthropic_version member rather than a header. Every other
// member is kept, so fields tracegate does not model still reach the model. On error dst is
// returned unchanged.
func VertexMessagesBody(dst, body []byte, version string) ([]byte, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil || v.Type() != fastjson.TypeObject {
		return dst, fmt.Errorf("vertex messages body: not a JSON object: %w", llm.ErrInvalidRequest)
	}
	mark := len(dst)
	dst = append(dst, `{"anthropic_version":`...)
	dst = jsonw.String(dst, version)
	rest := len(dst)
	out, err := jsonw.ValueWithout(dst, v, "model")
	if err != nil {
		return dst[:mark], fmt.Errorf("vertex messages body: %w: %w", err, llm.ErrInvalidRequest)
	}
	// out[rest:] is the body's own object: its '{' gives way to the separator.
	if len(out)-rest == 2 {
		return append(out[:rest], '}'), nil
	}
	out[rest] = ','
	return out, nil
}
