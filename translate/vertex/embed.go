package vertex

import (
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/gemini"
	"github.com/valyala/fastjson"
)

// Vertex AI's text embedding models (text-embedding-005, text-multilingual-embedding-002,
// gemini-embedding-001) answer on the prediction API: one instance per input text, with its
// task type, and the output dimensionality as a parameter:
//
//	{"instances":[{"content":"...","task_type":"RETRIEVAL_QUERY"}],"parameters":{"outputDimensionality":256}}
//
// The reply has one prediction per instance, each with its vector and its token count:
//
//	{"predictions":[{"embeddings":{"values":[...],"statistics":{"token_count":6,"truncated":false}}}]}

// EmbedPath is the path, below a Vertex publisher-models prefix ending in "models/", of the
// embeddings call: the model's :predict method.
func EmbedPath(escapedModel string) string { return escapedModel + ":predict" }

// EncodeEmbedRequest appends the :predict body for req to dst. Errors wrap
// llm.ErrInvalidRequest.
func EncodeEmbedRequest(dst []byte, req *llm.EmbeddingRequest) ([]byte, error) {
	if len(req.Inputs) == 0 {
		return dst, fmt.Errorf("vertex embeddings: no input: %w", llm.ErrInvalidRequest)
	}
	taskType, ok := gemini.TaskType(req.TaskType)
	if !ok {
		return dst, fmt.Errorf("vertex embeddings: unknown task_type %q: %w", req.TaskType, llm.ErrInvalidRequest)
	}
	dst = append(dst, `{"instances":[`...)
	for i, text := range req.Inputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"content":`...)
		dst = jsonw.String(dst, text)
		if taskType != "" {
			dst = append(dst, `,"task_type":`...)
			dst = jsonw.String(dst, taskType)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if req.Dimensions > 0 {
		dst = append(dst, `,"parameters":{"outputDimensionality":`...)
		dst = jsonw.Int(dst, int64(req.Dimensions))
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

var errEmbedReply = errors.New("malformed vertex :predict embeddings reply")

var parserPool fastjson.ParserPool

// DecodeEmbedResponse decodes a :predict reply for n inputs: exactly one vector per input,
// all of one length, every value a finite number, and the token counts summed into the
// usage. A malformed reply is an error wrapping errEmbedReply (the provider's fault).
func DecodeEmbedResponse(body []byte, n int) (*llm.EmbeddingResponse, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	reply, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errEmbedReply, err)
	}
	items := reply.GetArray("predictions")
	if len(items) != n || n == 0 {
		return nil, fmt.Errorf("%w: %d predictions for %d inputs", errEmbedReply, len(items), n)
	}
	resp := &llm.EmbeddingResponse{Vectors: make([][]float32, n)}
	resp.Usage.Known = true
	for i, it := range items {
		values := it.GetArray("embeddings", "values")
		if len(values) == 0 || (i > 0 && len(values) != len(resp.Vectors[0])) {
			return nil, fmt.Errorf("%w: predictions[%d] has %d values", errEmbedReply, i, len(values))
		}
		vec, j, ok := gemini.Vector(values)
		if !ok {
			return nil, fmt.Errorf("%w: predictions[%d] value %d is not a finite number", errEmbedReply, i, j)
		}
		resp.Vectors[i] = vec
		resp.Usage.InputTokens += int64(it.GetFloat64("embeddings", "statistics", "token_count"))
	}
	return resp, nil
}
