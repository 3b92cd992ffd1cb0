package proxy

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/trace"
)

// vectorsOf reads the vectors of an embeddings fixture, OpenAI's (data[].embedding) or
// Gemini's (embeddings[].values).
func vectorsOf(t *testing.T, raw []byte) [][]float64 {
	t.Helper()
	body := decodeBody(t, raw)
	var out [][]float64
	add := func(list []any) {
		v := make([]float64, len(list))
		for i, x := range list {
			v[i] = x.(float64)
		}
		out = append(out, v)
	}
	if data, ok := body["data"].([]any); ok {
		for _, d := range data {
			add(d.(map[string]any)["embedding"].([]any))
		}
	}
	if embs, ok := body["embeddings"].([]any); ok {
		for _, e := range embs {
			add(e.(map[string]any)["values"].([]any))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no vectors in %s", raw)
	}
	return out
}

// sameVectors compares at float32 precision: what OpenAI's base64 and tracegate's encoding carry.
func sameVectors(t *testing.T, got []openai.Embedding, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d embeddings, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Index != int64(i) || len(e.Embedding) != len(want[i]) {
			t.Fatalf("embedding %d: index %d, %d values, want %d", i, e.Index, len(e.Embedding), len(want[i]))
		}
		for j, v := range e.Embedding {
			if float32(v) != float32(want[i][j]) {
				t.Errorf("embedding %d[%d] = %v, want %v", i, j, v, want[i][j])
			}
		}
	}
}

func TestEmbeddingsPassthroughOpenAI(t *testing.T) {
	fx := fixture(t, "openai/embeddings.synthetic.json")
	h := newHarness(t, harnessOptions{replies: []upstreamReply{withProviderHeaders(upstreamReply{Status: 200, Body: fx})}})
	var httpResp *http.Response
	resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:      "openai/text-embedding-3-small",
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"The food was delicious", "and the waiter..."}},
		Dimensions: openai.Int(4),
		User:       openai.String("user-42"),
	}, option.WithHeader(headerTags, "search,batch"), option.WithHeader(headerSessionID, "s-1"), option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	sameVectors(t, resp.Data, vectorsOf(t, fx))
	if resp.Model != "text-embedding-3-small" || resp.Usage.PromptTokens != 8 || resp.Usage.TotalTokens != 8 {
		t.Errorf("reply model %q usage %+v", resp.Model, resp.Usage)
	}
	got := h.upstream.requests()
	if len(got) != 1 || got[0].Path != "/embeddings" {
		t.Fatalf("upstream got %+v", got)
	}
	if a := got[0].Header.Get("Authorization"); a != "Bearer sk-test-secret-key-123456" {
		t.Errorf("upstream auth %q", a)
	}
	sent := decodeBody(t, got[0].Body)
	if sent["model"] != "text-embedding-3-small" || sent["dimensions"] != 4.0 || sent["user"] != "user-42" ||
		len(sent["input"].([]any)) != 2 || sent["input"].([]any)[1] != "and the waiter..." {
		t.Errorf("upstream body %v", sent)
	}
	checkPassedHeaders(t, httpResp.Header)
	cost, err := strconv.ParseFloat(httpResp.Header.Get(headerCost), 64)
	if want := 8 * 2e-08; err != nil || math.Abs(cost-want) > 1e-15 {
		t.Errorf("%s = %q, want %g", headerCost, httpResp.Header.Get(headerCost), want)
	}

	run := findSpan(t, h, "embeddings openai/text-embedding-3-small", trace.SpanKindServer)
	if attr(run, "gen_ai.operation.name").AsString() != "embeddings" || attr(run, "gen_ai.embeddings.dimension.count").AsInt64() != 4 ||
		attr(run, "gen_ai.usage.input_tokens").AsInt64() != 8 || attr(run, "tracegate.cost.status").AsString() != "priced" ||
		attr(run, "session.id").AsString() != "s-1" || len(attr(run, "tracegate.tags").AsStringSlice()) != 2 {
		t.Errorf("run span attributes %v", run.Attributes())
	}
	if attr(run, "tracegate.usage.estimated").Type() != 0 {
		t.Error("OpenAI's own usage marked as an estimate")
	}
	att := findSpan(t, h, "embeddings text-embedding-3-small", trace.SpanKindClient)
	if attr(att, "gen_ai.operation.name").AsString() != "embeddings" || attr(att, "gen_ai.response.model").AsString() != "text-embedding-3-small" ||
		attr(att, "gen_ai.usage.input_tokens").AsInt64() != 8 || att.Parent().SpanID() != run.SpanContext().SpanID() {
		t.Errorf("attempt span attributes %v", att.Attributes())
	}
	if httpResp.Header.Get(headerSpanID) != "sp_"+run.SpanContext().SpanID().String() {
		t.Errorf("%s = %q", headerSpanID, httpResp.Header.Get(headerSpanID))
	}
}

// float32LE is OpenAI's base64 encoding of a vector.
func float32LE(v []float32) string {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestEmbeddingsPassthroughBase64AndTokenInput(t *testing.T) {
	vec := []float32{0.25, -1.5, 3.0000002, -0.0069292834}
	reply := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"` + float32LE(vec) + `"}],` +
		`"model":"text-embedding-3-large","usage":{"prompt_tokens":3,"total_tokens":3}}`
	h := newHarness(t, harnessOptions{replies: []upstreamReply{{Status: 200, Body: []byte(reply)}}})
	var httpResp *http.Response
	resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:          "openai/text-embedding-3-large",
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1820, 25977, 574}},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(vec))
	for i, f := range vec {
		want[i] = float64(f)
	}
	sameVectors(t, resp.Data, [][]float64{want})
	sent := decodeBody(t, h.upstream.requests()[0].Body)
	if in := sent["input"].([]any); len(in) != 3 || in[0] != 1820.0 || sent["encoding_format"] != "base64" {
		t.Errorf("upstream body %v", sent)
	}
	if c, _ := strconv.ParseFloat(httpResp.Header.Get(headerCost), 64); math.Abs(c-3*1.3e-07) > 1e-15 {
		t.Errorf("cost %v", c)
	}
	run := findSpan(t, h, "embeddings openai/text-embedding-3-large", trace.SpanKindServer)
	if attr(run, "gen_ai.embeddings.dimension.count").AsInt64() != 4 {
		t.Errorf("dimension count from the base64 reply: %v", run.Attributes())
	}
}

func TestEmbeddingsTranslatedToGemini(t *testing.T) {
	fx := fixture(t, "gemini/batch_embed.synthetic.json")
	inputs := []string{"What is the meaning of life?", "How much wood would a woodchuck chuck?"}
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			h, gem := newTranslatedHarness(t, "gemini-embedding-001", upstreamReply{Status: 200, Body: fx})
			var httpResp *http.Response
			resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model:          "gemini-embedding-001",
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
				Dimensions:     openai.Int(4),
				EncodingFormat: format,
			}, option.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatal(err)
			}
			sameVectors(t, resp.Data, vectorsOf(t, fx))
			if raw := resp.Data[0].JSON.Embedding.Raw(); (raw[0] == '"') != (format == openai.EmbeddingNewParamsEncodingFormatBase64) {
				t.Errorf("%s reply carries %.20s...", format, raw)
			}
			// Gemini reports no usage: one token per four bytes, rounded up per text.
			wantTokens := int64((len(inputs[0])+3)/4 + (len(inputs[1])+3)/4)
			if resp.Model != "gemini-embedding-001" || resp.Usage.PromptTokens != wantTokens || resp.Usage.TotalTokens != wantTokens {
				t.Errorf("reply model %q usage %+v, want %d tokens", resp.Model, resp.Usage, wantTokens)
			}
			got := gem.requests()
			if len(got) != 1 || got[0].Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
				t.Fatalf("gemini got %+v", got)
			}
			if k := got[0].Header.Get("x-goog-api-key"); k != "AIzaTestKey00000000000000000" || got[0].Header.Get("Authorization") != "" {
				t.Errorf("gemini auth %q", k)
			}
			reqs := decodeBody(t, got[0].Body)["requests"].([]any)
			if len(reqs) != 2 {
				t.Fatalf("gemini body %s", got[0].Body)
			}
			for i, r := range reqs {
				r := r.(map[string]any)
				text := r["content"].(map[string]any)["parts"].([]any)[0].(map[string]any)["text"]
				if r["model"] != "models/gemini-embedding-001" || r["outputDimensionality"] != 4.0 || text != inputs[i] {
					t.Errorf("gemini request %d: %v", i, r)
				}
			}
			if c, _ := strconv.ParseFloat(httpResp.Header.Get(headerCost), 64); math.Abs(c-float64(wantTokens)*1.5e-07) > 1e-15 {
				t.Errorf("cost %v for %d tokens", c, wantTokens)
			}
			run := findSpan(t, h, "embeddings gemini-embedding-001", trace.SpanKindServer)
			if !attr(run, "tracegate.usage.estimated").AsBool() || attr(run, "gen_ai.embeddings.dimension.count").AsInt64() != 4 {
				t.Errorf("run span %v", run.Attributes())
			}
			att := findSpan(t, h, "embeddings gemini-embedding-001", trace.SpanKindClient)
			if attr(att, "gen_ai.provider.name").AsString() != "gcp.gemini" || attr(att, "gen_ai.operation.name").AsString() != "embeddings" {
				t.Errorf("attempt span %v", att.Attributes())
			}
		})
	}
}

func TestEmbeddingsAnthropicIsAClear400(t *testing.T) {
	h := newHarness(t, harnessOptions{anthropicReplies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	_, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "claude-sonnet-4-5", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "invalid_request_error" {
		t.Fatalf("err %v", err)
	}
	if msg := apiErr.Message; !strings.Contains(msg, "anthropic") || !strings.Contains(msg, "no embeddings") {
		t.Errorf("message %q", msg)
	}
	if n := len(h.anthropic.requests()); n != 0 {
		t.Errorf("anthropic got %d requests", n)
	}
}

// A retryable failure is retried, then a failing model falls back, through the dispatcher's
// one retry loop: every attempt is a span.
func TestEmbeddingsRetryAndFallback(t *testing.T) {
	unavailable := upstreamReply{Status: 503, Body: []byte(`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`)}
	h := newHarness(t, harnessOptions{
		replies:       []upstreamReply{{Status: 200, Body: fixture(t, "openai/embeddings.synthetic.json")}},
		geminiReplies: []upstreamReply{unavailable},
		extraYAML:     `fallbacks: {"gemini-embedding-001": ["openai/text-embedding-3-small"]}` + "\n",
	})
	resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "gemini-embedding-001", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	}, option.WithJSONSet("task_type", "RETRIEVAL_QUERY"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "text-embedding-3-small" || len(resp.Data) != 2 {
		t.Errorf("reply %+v", resp)
	}
	// task_type is for Gemini: it reaches Gemini as taskType and never the OpenAI fallback.
	gemReq := decodeBody(t, h.gemini.requests()[0].Body)["requests"].([]any)[0].(map[string]any)
	openaiBody := decodeBody(t, h.upstream.requests()[0].Body)
	if _, leaked := openaiBody["task_type"]; leaked || gemReq["taskType"] != "RETRIEVAL_QUERY" || openaiBody["model"] != "text-embedding-3-small" {
		t.Errorf("gemini request %v, openai body %v", gemReq, openaiBody)
	}
	if n := len(h.gemini.requests()); n != 2 {
		t.Errorf("gemini got %d requests, want 2 (max_attempts)", n)
	}
	var attempts []string
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.SpanKind() == trace.SpanKindClient {
			attempts = append(attempts, s.Name())
		}
	}
	if len(attempts) != 3 || attempts[2] != "embeddings text-embedding-3-small" {
		t.Errorf("attempt spans %q", attempts)
	}
}

func TestEmbeddingsBadInput(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, body := range []string{
		`{"input":"hi"}`,
		`{"model":"openai/text-embedding-3-small"}`,
		`{"model":"openai/text-embedding-3-small","input":[]}`,
		`{"model":"openai/text-embedding-3-small","input":{"text":"hi"}}`,
		`{"model":"openai/text-embedding-3-small","input":"hi","encoding_format":"hex"}`,
		`{"model":"openai/text-embedding-3-small","input":"hi","dimensions":0}`,
		`{"model":"openai/text-embedding-3-small","input":"hi","dimensions":"4"}`,
		`{"model":"gemini-embedding-001","input":[[1,2,3]]}`,
		`{"model":"gemini-embedding-001","input":["a",7]}`,
		`{"model":"gemini-embedding-001","input":"hi","task_type":"DREAMING"}`,
		`{"model":"no-such-model","input":"hi"}`,
		`{"model":"openai/text-embedding-3-small","input":"hi"`,
	} {
		status, _, out := h.do(http.MethodPost, "/v1/embeddings", body, nil)
		e, _ := out["error"].(map[string]any)
		if status != 400 || e == nil || e["message"] == "" || e["type"] != "invalid_request_error" {
			t.Errorf("%s: %d %v", body, status, out)
		}
	}
	if n := len(h.upstream.requests()); n != 0 {
		t.Errorf("bad input reached the provider %d times", n)
	}
	if status, _, _ := h.do(http.MethodGet, "/v1/embeddings", nil, nil); status != 405 {
		t.Errorf("GET: %d", status)
	}
}

// A provider's 2xx that is not JSON is a provider error, not the caller's.
func TestEmbeddingsMalformedReplyIs502(t *testing.T) {
	h := newHarness(t, harnessOptions{
		replies:       []upstreamReply{{Status: 200, Body: []byte(`{"object":"list","data":[`)}},
		geminiReplies: []upstreamReply{{Status: 200, Body: []byte(`{"embeddings":[{"values":[0.1]}]}`)}},
	})
	for _, body := range []string{
		`{"model":"openai/text-embedding-3-small","input":"hi"}`,
		`{"model":"gemini-embedding-001","input":["one","two"]}`, // one vector for two inputs
	} {
		status, _, out := h.do(http.MethodPost, "/v1/embeddings", body, nil)
		if status != 502 {
			t.Errorf("%s: %d %v", body, status, out)
		}
	}
}

// The mock provider embeds deterministically, so demos and load tests need no network.
func TestEmbeddingsMock(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	embed := func(text string) []float64 {
		resp, err := h.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model: "mock-embed", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(text)}, Dimensions: openai.Int(16),
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Data[0].Embedding
	}
	a, b, c := embed("same"), embed("same"), embed("other")
	if len(a) != 16 || len(c) != 16 {
		t.Fatalf("lengths %d %d", len(a), len(c))
	}
	var norm float64
	differs := false
	for i := range a {
		norm += a[i] * a[i]
		if a[i] != b[i] {
			t.Fatal("the same text embedded differently")
		}
		differs = differs || a[i] != c[i]
	}
	if !differs || math.Abs(norm-1) > 1e-5 {
		t.Errorf("norm %v, differs %v", norm, differs)
	}
}

// An embeddings call reaches the metrics like a chat call: its own route, the provider, the
// usage and the cost; a refused one with its error code.
func TestEmbeddingsReportToMetrics(t *testing.T) {
	o := newOpsServer(t, opsServerOptions{withMock: true})
	if _, err := o.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "mock-embed", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("twelve bytes")},
	}); err != nil {
		t.Fatal(err)
	}
	status, _, _ := o.do(http.MethodPost, "/v1/embeddings", `{"input":"x"}`, nil)
	got := o.obs.byRoute(routeEmbeddings)
	if len(got) != 2 || status != 400 {
		t.Fatalf("summaries %+v (status %d)", got, status)
	}
	if ok := got[0]; ok.Status != 200 || ok.Provider != "mock" || ok.Model != "mock-embed" || ok.Usage.InputTokens != 3 || ok.Code != "" {
		t.Errorf("success summary %+v", ok)
	}
	if bad := got[1]; bad.Status != 400 || bad.Code == "" {
		t.Errorf("failure summary %+v", bad)
	}
}
