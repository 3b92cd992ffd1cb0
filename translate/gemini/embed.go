package gemini

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// Embeddings go to models/{model}:batchEmbedContents, one request per input text, each
// naming the model again (Gemini requires it to match the URL's). Gemini's public API
// reports no token usage for embeddings, so DecodeEmbedResponse estimates it (see
// EstimateEmbeddingTokens) unless the reply carries usageMetadata.

// EmbedPath is the URL path of the batch embedding call for model.
func EmbedPath(model string) string {
	return modelPath(model) + ":batchEmbedContents"
}

// taskTypes are Gemini's embedding task types. Without one Gemini applies its default.
var taskTypes = map[string]bool{
	"RETRIEVAL_QUERY": true, "RETRIEVAL_DOCUMENT": true, "SEMANTIC_SIMILARITY": true, "CLASSIFICATION": true,
	"CLUSTERING": true, "QUESTION_ANSWERING": true, "FACT_VERIFICATION": true, "CODE_RETRIEVAL_QUERY": true,
}

// TaskType is the Gemini embedding task type s names (any case), "" for none; ok is false
// for a name Gemini does not know. Vertex AI's embedding models take the same names.
func TaskType(s string) (taskType string, ok bool) {
	taskType = strings.ToUpper(s)
	return taskType, taskType == "" || taskTypes[taskType]
}

// EncodeEmbedRequest writes a BatchEmbedContentsRequest for req. Errors wrap
// llm.ErrInvalidRequest.
func EncodeEmbedRequest(dst []byte, req *llm.EmbeddingRequest) ([]byte, error) {
	if len(req.Inputs) == 0 {
		return dst, fmt.Errorf("gemini embeddings: no input: %w", llm.ErrInvalidRequest)
	}
	taskType, ok := TaskType(req.TaskType)
	if !ok {
		return dst, fmt.Errorf("gemini embeddings: unknown task_type %q: %w", req.TaskType, llm.ErrInvalidRequest)
	}
	model := req.Model
	if !strings.HasPrefix(model, "models/") && !strings.HasPrefix(model, "tunedModels/") {
		model = "models/" + model
	}
	dst = append(dst, `{"requests":[`...)
	for i, text := range req.Inputs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"model":`...)
		dst = jsonw.String(dst, model)
		dst = append(dst, `,"content":{"parts":[{"text":`...)
		dst = jsonw.String(dst, text)
		dst = append(dst, `}]}`...)
		if taskType != "" {
			dst = append(dst, `,"taskType":`...)
			dst = jsonw.String(dst, taskType)
		}
		if req.Dimensions > 0 {
			dst = append(dst, `,"outputDimensionality":`...)
			dst = jsonw.Int(dst, int64(req.Dimensions))
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}

var errEmbedReply = errors.New("malformed batchEmbedContents reply")

// DecodeEmbedResponse decodes a BatchEmbedContentsResponse for the inputs sent: exactly one
// vector per input, every value a finite number. A malformed reply is an error wrapping
// errEmbedReply (the provider's fault, never the caller's); an error envelope in a 200 is an
// *llm.UpstreamError.
func DecodeEmbedResponse(body []byte, inputs []string) (*llm.EmbeddingResponse, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	reply, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errEmbedReply, err)
	}
	if reply.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%w: %w", errEmbedReply, errNotObject)
	}
	if ev := reply.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
		ue := &llm.UpstreamError{Provider: replyProvider, Status: ev.GetInt("code")}
		fillFromEnvelope(ue, ev)
		return nil, ue
	}
	items := reply.GetArray("embeddings")
	if len(items) != len(inputs) || len(items) == 0 {
		return nil, fmt.Errorf("%w: %d embeddings for %d inputs", errEmbedReply, len(items), len(inputs))
	}
	resp := &llm.EmbeddingResponse{Vectors: make([][]float32, len(items))}
	dims := -1
	for i, it := range items {
		values := it.GetArray("values")
		if len(values) == 0 || (dims >= 0 && len(values) != dims) {
			return nil, fmt.Errorf("%w: embeddings[%d] has %d values", errEmbedReply, i, len(values))
		}
		dims = len(values)
		vec, j, ok := Vector(values)
		if !ok {
			return nil, fmt.Errorf("%w: embeddings[%d].values[%d] is not a finite number", errEmbedReply, i, j)
		}
		resp.Vectors[i] = vec
	}
	resp.Usage.Known = true
	if n := reply.GetInt64("usageMetadata", "promptTokenCount"); n > 0 {
		resp.Usage.InputTokens = n
	} else {
		resp.Usage.InputTokens = EstimateEmbeddingTokens(inputs)
		resp.UsageEstimated = true
	}
	return resp, nil
}

// Vector decodes an embedding's values, each a finite float32; when one is not, ok is false
// and bad is its index. Vertex AI's :predict replies carry their vectors alike.
func Vector(values []*fastjson.Value) (vec []float32, bad int, ok bool) {
	vec = make([]float32, len(values))
	for j, v := range values {
		f, err := v.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
			return nil, j, false
		}
		vec[j] = float32(f)
	}
	return vec, 0, true
}

// EstimateEmbeddingTokens estimates the tokens of texts for pricing when Gemini reports none:
// one per four bytes of UTF-8, rounded up per text, the rule of thumb Google's documentation
// gives for its tokenizer. Spans mark the figure as an estimate.
func EstimateEmbeddingTokens(texts []string) int64 {
	var n int64
	for _, t := range texts {
		n += int64((len(t) + 3) / 4)
	}
	return n
}
