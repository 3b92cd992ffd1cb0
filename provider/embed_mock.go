package provider

import (
	"hash/fnv"
	"math"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/gemini"
)

// mockEmbeddingDimensions is the mock's vector length when the request names none.
const mockEmbeddingDimensions = 8

func mockDimensions(req *llm.EmbeddingRequest) int {
	if req.Dimensions > 0 {
		return req.Dimensions
	}
	return mockEmbeddingDimensions
}

// mockEmbed answers deterministically: each text's vector is a unit vector seeded by the
// text's hash, so equal texts embed equally and demos can compare them. Usage is the same
// estimate tracegate makes for Gemini.
func mockEmbed(model string, req *llm.EmbeddingRequest) *llm.EmbeddingResponse {
	dims := mockDimensions(req)
	resp := &llm.EmbeddingResponse{Model: model, Vectors: make([][]float32, len(req.Inputs)),
		Usage: llm.Usage{InputTokens: gemini.EstimateEmbeddingTokens(req.Inputs), Known: true}}
	for i, text := range req.Inputs {
		h := fnv.New64a()
		h.Write([]byte(text))
		x := h.Sum64() | 1
		vec := make([]float32, dims)
		var norm float64
		for j := range vec {
			x ^= x << 13 // xorshift: a cheap, repeatable stream from the seed
			x ^= x >> 7
			x ^= x << 17
			v := float64(int64(x>>11))/float64(1<<52) - 1
			vec[j] = float32(v)
			norm += v * v
		}
		if norm = math.Sqrt(norm); norm > 0 {
			for j := range vec {
				vec[j] = float32(float64(vec[j]) / norm)
			}
		}
		resp.Vectors[i] = vec
	}
	return resp
}
