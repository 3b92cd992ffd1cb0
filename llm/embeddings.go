package llm

// EmbeddingRequest is an embeddings call in the form translation needs: the texts to embed.
// (A passed-through OpenAI body is never decoded into it.)
type EmbeddingRequest struct {
	Model  string
	Inputs []string
	// Dimensions is the requested vector length; 0 leaves the model's default.
	Dimensions int
	// TaskType is a Gemini task type (RETRIEVAL_QUERY, SEMANTIC_SIMILARITY, ...); "" leaves the
	// provider's default.
	TaskType string
	User     string
}

// EmbeddingResponse is a translated embeddings reply: one vector per input, in input order.
type EmbeddingResponse struct {
	Model   string
	Vectors [][]float32
	Usage   Usage
	// UsageEstimated says Usage.InputTokens is tracegate's estimate, not the provider's count
	// (Gemini's public embedding API reports none).
	UsageEstimated bool
}
