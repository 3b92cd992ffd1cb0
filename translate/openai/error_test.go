package openai

import (
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
)

func headers(kv ...string) func(string) string {
	return func(name string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if strings.EqualFold(kv[i], name) {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestDecodeErrorEnvelope(t *testing.T) {
	body := `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
	ue := DecodeError("openai", 429, []byte(body), headers("Retry-After", "7"))
	if ue.Provider != "openai" || ue.Status != 429 || ue.Type != "insufficient_quota" || ue.Code != "insufficient_quota" {
		t.Fatalf("got %+v", ue)
	}
	if !strings.HasPrefix(ue.Message, "You exceeded your current quota") {
		t.Fatalf("message = %q", ue.Message)
	}
	if ue.RetryAfter != 7*time.Second {
		t.Fatalf("retry after = %v", ue.RetryAfter)
	}
	if ue.Retryable() {
		t.Fatal("insufficient_quota must not be retryable")
	}
}

func TestDecodeErrorRateLimitHints(t *testing.T) {
	body := `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	ue := DecodeError("groq", 429, []byte(body), headers("retry-after-ms", "1500", "x-should-retry", "false"))
	if ue.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("retry after = %v", ue.RetryAfter)
	}
	if ue.ShouldRetry == nil || *ue.ShouldRetry {
		t.Fatalf("should retry = %v", ue.ShouldRetry)
	}
	if ue.Retryable() {
		t.Fatal("x-should-retry: false must win")
	}
	if ue.Provider != "groq" || ue.Code != "rate_limit_exceeded" {
		t.Fatalf("got %+v", ue)
	}
}

func TestDecodeErrorLooseShapes(t *testing.T) {
	cases := []struct {
		name, body     string
		msg, typ, code string
	}{
		{name: "string error", body: `{"error":"model not found"}`, msg: "model not found"},
		{name: "numeric code", body: `{"error":{"message":"bad","type":"invalid_request_error","code":400}}`, msg: "bad", typ: "invalid_request_error", code: "400"},
		{name: "top-level vLLM shape", body: `{"object":"error","message":"context too long","type":"BadRequestError","code":400}`, msg: "context too long", typ: "BadRequestError", code: "400"},
		{name: "html", body: "  <html><body>502 Bad Gateway</body></html>\n", msg: "<html><body>502 Bad Gateway</body></html>"},
		{name: "empty", body: "", msg: "Service Unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status := 400
			if c.name == "empty" {
				status = 503
			}
			ue := DecodeError("p", status, []byte(c.body), nil)
			if ue.Message != c.msg || ue.Type != c.typ || ue.Code != c.code {
				t.Fatalf("got message %q type %q code %q", ue.Message, ue.Type, ue.Code)
			}
			if ue.RetryAfter != 0 || ue.ShouldRetry != nil {
				t.Fatalf("hints without headers: %+v", ue)
			}
		})
	}
}

// The truncation rules are translate.TruncateText's and tested there; this only checks that
// DecodeError applies them.
func TestDecodeErrorTruncatesLongBodies(t *testing.T) {
	body := []byte(strings.Repeat("é", 1000))
	if ue, want := DecodeError("p", 500, body, nil), translate.TruncateText(body, translate.MaxErrorText); ue.Message != want {
		t.Fatalf("message = %q, want %q", ue.Message, want)
	}
}

func TestEncodeStreamError(t *testing.T) {
	got := EncodeStreamError(nil, &llm.UpstreamError{Type: "overloaded_error", Message: "Overloaded \"now\""})
	if !strings.HasPrefix(string(got), "data: ") || !strings.HasSuffix(string(got), "\n\n") {
		t.Fatalf("not an SSE data frame: %q", got)
	}
	assertJSONEqual(t, got[len("data: "):len(got)-2],
		[]byte(`{"error":{"message":"Overloaded \"now\"","type":"overloaded_error","param":null,"code":null}}`))

	// The frame decodes back into the same error through the stream decoder.
	d := NewStreamDecoder(strings.NewReader(string(got)))
	_, err := d.Next()
	ue, ok := err.(*llm.UpstreamError)
	if !ok || ue.Type != "overloaded_error" || ue.Message != `Overloaded "now"` || ue.Status != 0 {
		t.Fatalf("decoded %v", err)
	}

	got = EncodeStreamError(nil, nil)
	assertJSONEqual(t, got[len("data: "):len(got)-2],
		[]byte(`{"error":{"message":"upstream error","type":"api_error","param":null,"code":null}}`))
}
