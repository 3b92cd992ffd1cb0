package gemini

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEmbedPath(t *testing.T) {
	for model, want := range map[string]string{
		"gemini-embedding-001":        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
		"models/text-embedding-004":   "/v1beta/models/text-embedding-004:batchEmbedContents",
		"tunedModels/my-embed":        "/v1beta/tunedModels/my-embed:batchEmbedContents",
		"weird:name/with?query#chars": "/v1beta/models/weird%3Aname%2Fwith%3Fquery%23chars:batchEmbedContents",
	} {
		if got := EmbedPath(model); got != want {
			t.Errorf("EmbedPath(%q) = %q, want %q", model, got, want)
		}
	}
}

func TestEncodeEmbedRequest(t *testing.T) {
	body, err := EncodeEmbedRequest(nil, &llm.EmbeddingRequest{Model: "gemini-embedding-001", Inputs: []string{"a \"quoted\" text", "b"},
		Dimensions: 768, TaskType: "retrieval_document"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Requests []struct {
			Model   string
			Content struct {
				Parts []struct{ Text string }
			}
			TaskType             string
			OutputDimensionality int
		}
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if len(got.Requests) != 2 {
		t.Fatalf("%s", body)
	}
	for i, r := range got.Requests {
		if r.Model != "models/gemini-embedding-001" || r.TaskType != "RETRIEVAL_DOCUMENT" || r.OutputDimensionality != 768 ||
			len(r.Content.Parts) != 1 || r.Content.Parts[0].Text != []string{"a \"quoted\" text", "b"}[i] {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	plain, _ := EncodeEmbedRequest(nil, &llm.EmbeddingRequest{Model: "models/text-embedding-004", Inputs: []string{"x"}})
	if want := `{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"x"}]}}]}`; string(plain) != want {
		t.Errorf("without options: %s", plain)
	}
	for _, bad := range []*llm.EmbeddingRequest{{Model: "m"}, {Model: "m", Inputs: []string{"x"}, TaskType: "DREAMING"}} {
		if _, err := EncodeEmbedRequest(nil, bad); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestDecodeEmbedResponse(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "batch_embed.synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"What is the meaning of life?", "abc"}
	resp, err := DecodeEmbedResponse(raw, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 2 || len(resp.Vectors[0]) != 4 || resp.Vectors[0][0] != float32(0.013168523) || resp.Vectors[1][3] != float32(0.035271097) {
		t.Errorf("vectors %v", resp.Vectors)
	}
	if want := int64(7 + 1); resp.Usage.InputTokens != want || !resp.Usage.Known || !resp.UsageEstimated {
		t.Errorf("usage %+v estimated %v, want %d estimated", resp.Usage, resp.UsageEstimated, want)
	}
	reported, err := DecodeEmbedResponse([]byte(`{"embeddings":[{"values":[1,2]}],"usageMetadata":{"promptTokenCount":5}}`), []string{"x"})
	if err != nil || reported.Usage.InputTokens != 5 || reported.UsageEstimated {
		t.Errorf("reported usage: %+v %v", reported, err)
	}
}

func TestDecodeEmbedResponseRejects(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"embeddings":[]}`, `{"embeddings":[{"values":[1]},{"values":[2]}]}`, `{"embeddings":[{"values":[]}]}`,
		`{"embeddings":[{"values":["1"]}]}`, `{"embeddings":[{"values":[1e39]}]}`, `{"embeddings":{"values":[1]}}`,
	} {
		_, err := DecodeEmbedResponse([]byte(body), []string{"x"})
		if !errors.Is(err, errEmbedReply) {
			t.Errorf("%s: %v", body, err)
		}
	}
	_, err := DecodeEmbedResponse([]byte(`{"embeddings":[{"values":[1,2]},{"values":[1]}]}`), []string{"x", "y"})
	if !errors.Is(err, errEmbedReply) {
		t.Errorf("vectors of different lengths: %v", err)
	}
	var ue *llm.UpstreamError
	_, err = DecodeEmbedResponse([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`), []string{"x"})
	if !errors.As(err, &ue) || ue.Status != 429 {
		t.Errorf("error envelope: %v", err)
	}
}

func FuzzDecodeEmbedResponse(f *testing.F) {
	if raw, err := os.ReadFile(filepath.Join("testdata", "batch_embed.synthetic.json")); err == nil {
		f.Add(raw, uint8(2))
	}
	f.Add([]byte(`{"embeddings":[{"values":[0.5,-1e-9]}],"usageMetadata":{"promptTokenCount":3}}`), uint8(1))
	f.Add([]byte(`{"error":{"code":500,"message":"x"}}`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		inputs := make([]string, n)
		resp, err := DecodeEmbedResponse(body, inputs)
		if err != nil {
			if errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("a provider reply blamed on the caller: %v", err)
			}
			return
		}
		if len(resp.Vectors) != int(n) || !resp.Usage.Known || resp.Usage.InputTokens < 0 {
			t.Fatalf("%d vectors for %d inputs, usage %+v", len(resp.Vectors), n, resp.Usage)
		}
		for _, v := range resp.Vectors {
			if len(v) != len(resp.Vectors[0]) || len(v) == 0 {
				t.Fatalf("ragged vectors")
			}
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("non-finite value %v", x)
				}
			}
		}
	})
}
