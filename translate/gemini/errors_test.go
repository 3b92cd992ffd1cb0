package gemini

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/translate"
)

func headers(kv ...string) translate.HeaderGetter {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h.Get
}

func TestDecodeErrorFixture(t *testing.T) {
	var rec struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(readFixture(t, "error_404_stream.response.json"), &rec); err != nil {
		t.Fatal(err)
	}
	e := DecodeError("google", rec.Status, rec.Body, headers("Content-Type", "text/event-stream"))
	if e.Provider != "google" || e.Status != 404 || e.Type != "NOT_FOUND" {
		t.Errorf("got %+v", e)
	}
	if !strings.HasPrefix(e.Message, "models/custom-gemini-2.0-flash is not found for API version v1beta") {
		t.Errorf("message = %q", e.Message)
	}
	if e.RetryAfter != 0 || e.ShouldRetry != nil || e.Retryable() {
		t.Errorf("404 must not be retried: %+v", e)
	}
}

const quota429 = `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED",
 "details":[
  {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"%s"}]},
  {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
  {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"%s"}]}}`

func quotaBody(quotaID, delay string) []byte {
	s := strings.Replace(quota429, "%s", quotaID, 1)
	return []byte(strings.Replace(s, "%s", delay, 1))
}

func TestDecodeErrorRetryInfo(t *testing.T) {
	e := DecodeError("google", 429, quotaBody("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "36s"), headers())
	if e.Type != "RESOURCE_EXHAUSTED" || e.RetryAfter != 36*time.Second || e.ShouldRetry != nil || !e.Retryable() {
		t.Errorf("per-minute quota: %+v", e)
	}
	e = DecodeError("google", 429, quotaBody("GenerateRequestsPerMinute", "1.5s"), headers("Retry-After", "9"))
	if e.RetryAfter != 1500*time.Millisecond {
		t.Errorf("retryDelay must win over headers: %v", e.RetryAfter)
	}
	e = DecodeError("google", 429, quotaBody("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "20s"), headers())
	if e.ShouldRetry == nil || *e.ShouldRetry || e.Retryable() {
		t.Errorf("per-day quota must not be retried: %+v", e)
	}
	e = DecodeError("google", 429, quotaBody("x", "99999999999s"), headers())
	if e.RetryAfter != maxRetryDelay {
		t.Errorf("huge retryDelay = %v", e.RetryAfter)
	}
}

func TestDecodeErrorFallbacks(t *testing.T) {
	e := DecodeError("google", 503, []byte(`{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`),
		headers("Retry-After", "7"))
	if e.Type != "UNAVAILABLE" || e.RetryAfter != 7*time.Second || !e.Retryable() {
		t.Errorf("header retry hint: %+v", e)
	}

	e = DecodeError("google", 400, []byte(`[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}]`), nil)
	if e.Type != "INVALID_ARGUMENT" || e.Code != "API_KEY_INVALID" || !strings.HasPrefix(e.Message, "API key not valid") || e.Retryable() {
		t.Errorf("array envelope: %+v", e)
	}

	e = DecodeError("google", 502, []byte("  upstream connect error\xff  "), nil)
	if e.Message != "upstream connect error\uFFFD" || e.Type != "" || !e.Retryable() {
		t.Errorf("text body: %+v", e)
	}
	e = DecodeError("google", 500, nil, nil)
	if e.Message != "Internal Server Error" {
		t.Errorf("empty body: %+v", e)
	}
	// The truncation rules are translate.TruncateText's and tested there.
	long := []byte(strings.Repeat("x", 4000))
	e = DecodeError("google", 500, long, nil)
	if want := translate.TruncateText(long, translate.MaxErrorText); e.Message != want {
		t.Errorf("long body: message = %q, want %q", e.Message, want)
	}
	if got := e.Error(); !strings.HasPrefix(got, "google: status 500") {
		t.Errorf("Error() = %q", got)
	}
}
