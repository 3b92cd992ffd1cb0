package proxy

import (
	"strconv"
	"testing"
)

// benchEmbeddingsReply is an OpenAI embeddings reply of one text-embedding-3-small vector
// (1536 floats), the size a passthrough relays per input.
var benchEmbeddingsReply = func() []byte {
	b := []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[`)
	for i := range 1536 {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(i%97)/1000-0.048, 'g', -1, 32)
	}
	return append(b, `]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}`...)
}()

// BenchmarkEmbeddingsPassthrough is POST /v1/embeddings end to end: inbound HTTP, scan,
// route, upstream call, reply scan (model, usage, vector length), price, spans, reply.
func BenchmarkEmbeddingsPassthrough(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	b.SetBytes(int64(len(benchEmbeddingsReply)))
	benchRoundTrip(b, client, "http://tracegate/v1/embeddings",
		[]byte(`{"model":"text-embedding-3-small","input":"The food was delicious","dimensions":1536}`))
}
