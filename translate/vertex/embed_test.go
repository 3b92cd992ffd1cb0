package vertex

import (
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEncodeEmbedRequest(t *testing.T) {
	got, err := EncodeEmbedRequest(nil, &llm.EmbeddingRequest{Model: "text-embedding-005", Inputs: []string{"a \"b\"", "c"}, Dimensions: 256, TaskType: "retrieval_query"})
	want := `{"instances":[{"content":"a \"b\"","task_type":"RETRIEVAL_QUERY"},{"content":"c","task_type":"RETRIEVAL_QUERY"}],"parameters":{"outputDimensionality":256}}`
	if err != nil || string(got) != want {
		t.Errorf("got %s, %v; want %s", got, err, want)
	}
	got, err = EncodeEmbedRequest(nil, &llm.EmbeddingRequest{Inputs: []string{"x"}})
	if err != nil || string(got) != `{"instances":[{"content":"x"}]}` {
		t.Errorf("got %s, %v", got, err)
	}
	for _, bad := range []*llm.EmbeddingRequest{{}, {Inputs: []string{"x"}, TaskType: "SUMMARIZE"}} {
		if _, err := EncodeEmbedRequest(nil, bad); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestDecodeEmbedResponse(t *testing.T) {
	reply := `{"predictions":[{"embeddings":{"statistics":{"truncated":false,"token_count":6},"values":[0.1,-0.2,0.3]}},` +
		`{"embeddings":{"statistics":{"truncated":false,"token_count":2},"values":[1,2,3]}}],"metadata":{"billableCharacterCount":30}}`
	resp, err := DecodeEmbedResponse([]byte(reply), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 2 || resp.Vectors[0][1] != float32(-0.2) || resp.Vectors[1][2] != 3 || resp.Usage.InputTokens != 8 || !resp.Usage.Known {
		t.Errorf("got %+v", resp)
	}
	for _, bad := range []string{
		``, `[]`, `{"predictions":[]}`, reply[:40],
		`{"predictions":[{"embeddings":{"values":[1]}}]}`, // one for two inputs
		`{"predictions":[{"embeddings":{"values":[1,2]}},{"embeddings":{"values":[1]}}]}`,
		`{"predictions":[{"embeddings":{"values":[1,"x"]}},{"embeddings":{"values":[1,2]}}]}`,
		`{"predictions":[{"embeddings":{"values":[]}},{"embeddings":{"values":[]}}]}`,
		`{"predictions":[{"embeddings":{"values":[1e300]}},{"embeddings":{"values":[1]}}]}`,
	} {
		if _, err := DecodeEmbedResponse([]byte(bad), 2); !errors.Is(err, errEmbedReply) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
