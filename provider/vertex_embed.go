package provider

import (
	"context"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/vertex"
	"github.com/valyala/bytebufferpool"
)

// Embeddings on Vertex AI go to the Google publisher model's :predict method
// (translate/vertex); Claude on Vertex has no embeddings. The body is translated, as for the
// Gemini API, since the prediction API's format is not OpenAI's.

// vertexEmbedAt is where a Vertex Gemini variant under prefix has a model's embeddings.
func vertexEmbedAt(prefix string) func(model string) string {
	return func(model string) string { return prefix + "google/models/" + vertex.EmbedPath(vertexSegment(model)) }
}

func embedVertex(ctx context.Context, t Target, req *llm.EmbeddingRequest) (*Embedded, error) {
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	var err error
	if buf.B, err = vertex.EncodeEmbedRequest(buf.B[:0], req); err != nil {
		return nil, err
	}
	raw, _, err := forwardRaw(ctx, t, t.Backend.embeddingsAt(t.Model), buf.B)
	if err != nil {
		return nil, err
	}
	resp, err := vertex.DecodeEmbedResponse(raw, len(req.Inputs))
	if err != nil {
		return nil, badReply(t, err)
	}
	resp.Model = t.Model
	return &Embedded{Target: t, Response: resp, Dimensions: len(resp.Vectors[0])}, nil
}
