package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestScanEmbeddingsRequest(t *testing.T) {
	e, err := ScanEmbeddingsRequest([]byte(`{"model":"text-embedding-3-small","input":["a","b\u00e9"],"dimensions":256,` +
		`"encoding_format":"base64","user":"u","task_type":"RETRIEVAL_QUERY","extra":{"kept":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Model != "text-embedding-3-small" || e.Dimensions != 256 || !e.Base64 || e.User != "u" || e.TaskType != "RETRIEVAL_QUERY" || e.Tokens {
		t.Errorf("%+v", e)
	}
	texts, err := e.Texts()
	if err != nil || len(texts) != 2 || texts[1] != "bé" {
		t.Errorf("texts %q %v", texts, err)
	}
	for body, tokens := range map[string]bool{
		`{"model":"m","input":"one"}`: false, `{"model":"m","input":[1,2]}`: true, `{"model":"m","input":[[1],[2,3]]}`: true,
		`{"model":"m","input":"x","encoding_format":null,"dimensions":null}`: false,
	} {
		e, err := ScanEmbeddingsRequest([]byte(body))
		if err != nil || e.Tokens != tokens {
			t.Errorf("%s: %+v %v", body, e, err)
		}
	}
}

func TestScanEmbeddingsRequestRejects(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"model":"m"}`, `{"input":"x"}`, `{"model":"","input":"x"}`, `{"model":1,"input":"x"}`,
		`{"model":"m","input":[]}`, `{"model":"m","input":null}`, `{"model":"m","input":true}`, `{"model":"m","input":{}}`,
		`{"model":"m","input":"x","dimensions":-1}`, `{"model":"m","input":"x","dimensions":1.5}`,
		`{"model":"m","input":"x","dimensions":99999999}`, `{"model":"m","input":"x","encoding_format":"hex"}`,
		`{"model":"m","input":"x","user":5}`, `{"model":"m","input":"x"} trailing`,
		// A member read twice (jsonscan.Seen): priced by one, embedded by the other.
		`{"model":"m","input":"x","model":"n"}`, `{"model":"m","input":"x","input":["a","b"]}`,
		`{"model":"m","input":"x","encoding_format":"float","encoding_format":"base64"}`,
		`{"model":"m","input":"x","dimensions":8,"dimensions":16}`,
	} {
		if _, err := ScanEmbeddingsRequest([]byte(body)); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestEmbeddingsTextsRejects(t *testing.T) {
	many, _ := json.Marshal(make([]string, MaxEmbeddingInputs+1))
	for _, input := range []string{`[[1,2]]`, `[1]`, `["a",2]`, `["a",""]`, string(many)} {
		e, err := ScanEmbeddingsRequest([]byte(`{"model":"m","input":` + input + `}`))
		if err != nil {
			continue // rejected already at the scan
		}
		if _, err := e.Texts(); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("%.40s: Texts() = %v", input, err)
		}
	}
}

func TestScanEmbeddingsReply(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "embeddings.synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := ScanEmbeddingsReply(raw)
	if r.Model != "text-embedding-3-small" || r.Usage.InputTokens != 8 || !r.Usage.Known || r.Dimensions != 4 {
		t.Errorf("%+v", r)
	}
	for n := range 7 {
		vec := make([]float32, n)
		b64 := EncodeEmbeddingsResponse(nil, &llm.EmbeddingResponse{Model: "m", Vectors: [][]float32{vec}}, true)
		if got := ScanEmbeddingsReply(b64).Dimensions; got != n {
			t.Errorf("base64 vector of %d: scanned %d", n, got)
		}
		floats := EncodeEmbeddingsResponse(nil, &llm.EmbeddingResponse{Model: "m", Vectors: [][]float32{vec}}, false)
		if got := ScanEmbeddingsReply(floats).Dimensions; got != n {
			t.Errorf("float vector of %d: scanned %d", n, got)
		}
	}
}

// Both encodings carry each float32 exactly: the float form in its shortest round-tripping
// text, the base64 form as OpenAI sends it (little-endian float32s).
func TestEncodeEmbeddingsResponseRoundTrips(t *testing.T) {
	vecs := [][]float32{{0.1, -2.5e-8, math.MaxFloat32, -math.SmallestNonzeroFloat32, 0}, {1, 2, 3, 4, 5}}
	in := &llm.EmbeddingResponse{Model: "gemini-embedding-001", Vectors: vecs, Usage: llm.Usage{InputTokens: 12}}
	for _, asBase64 := range []bool{false, true} {
		raw := EncodeEmbeddingsResponse(nil, in, asBase64)
		var out struct {
			Object string
			Model  string
			Data   []struct {
				Object    string
				Index     int
				Embedding json.RawMessage
			}
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if out.Object != "list" || out.Model != in.Model || len(out.Data) != 2 {
			t.Fatalf("%s", raw)
		}
		var usage map[string]map[string]int64
		_ = json.Unmarshal(raw, &usage)
		if usage["usage"]["prompt_tokens"] != 12 || usage["usage"]["total_tokens"] != 12 {
			t.Errorf("usage %s", raw)
		}
		for i, d := range out.Data {
			var got []float32
			if asBase64 {
				var s string
				if err := json.Unmarshal(d.Embedding, &s); err != nil {
					t.Fatal(err)
				}
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				for j := 0; j+4 <= len(b); j += 4 {
					got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(b[j:])))
				}
			} else {
				var nums []json.Number
				if err := json.Unmarshal(d.Embedding, &nums); err != nil {
					t.Fatal(err)
				}
				for _, n := range nums {
					f, err := strconv.ParseFloat(n.String(), 32)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, float32(f))
				}
			}
			if d.Index != i || d.Object != "embedding" || len(got) != len(vecs[i]) {
				t.Fatalf("data[%d] = %+v", i, d)
			}
			for j := range got {
				if got[j] != vecs[i][j] {
					t.Errorf("base64=%v [%d][%d] = %v, want %v", asBase64, i, j, got[j], vecs[i][j])
				}
			}
		}
	}
}

func FuzzScanEmbeddingsRequest(f *testing.F) {
	for _, s := range []string{`{"model":"m","input":["a","b"],"dimensions":4,"encoding_format":"base64"}`,
		`{"model":"m","input":[[1,2],[3]]}`, `{"model":"m","input":"x","task_type":"CLUSTERING","user":"u"}`, `{"model":"m","input":[ "a" , 1 ]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ScanEmbeddingsRequest(body)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("a bad body must be the caller's error: %v", err)
			}
			return
		}
		if e.Model == "" || len(e.Input) == 0 || e.Dimensions < 0 {
			t.Fatalf("accepted %+v", e)
		}
		req, err := e.Request()
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("Texts error %v", err)
			}
			return
		}
		if len(req.Inputs) == 0 || len(req.Inputs) > MaxEmbeddingInputs || e.Tokens {
			t.Fatalf("decoded %d inputs (tokens %v)", len(req.Inputs), e.Tokens)
		}
	})
}

func FuzzScanEmbeddingsReply(f *testing.F) {
	addFixtures(f, ".synthetic.json")
	f.Add([]byte(`{"data":[{"embedding":"AAAAAA=="}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"data":[{"embedding":[ ]}],"model":"m"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := ScanEmbeddingsReply(raw)
		if r.Dimensions < 0 || r.Dimensions > len(raw) {
			t.Fatalf("%d dimensions from %d bytes", r.Dimensions, len(raw))
		}
	})
}

func TestWithoutTaskType(t *testing.T) {
	for in, want := range map[string]string{
		`{"model":"m","task_type":"CLUSTERING","input":["a"],"dimensions":4}`: `{"model":"m","input":["a"],"dimensions":4}`,
		`{ "task_type" : "X" }`: `{}`,
		`{"model":"m","t\u0061sk_type":"X","input":{"task_type":"kept"}}`: `{"model":"m","input":{"task_type":"kept"}}`,
		`{"input":"a"}`: `{"input":"a"}`,
	} {
		if got := WithoutTaskType(nil, []byte(in)); string(got) != want {
			t.Errorf("WithoutTaskType(%s) = %s, want %s", in, got, want)
		}
	}
}
