package anthropic

import (
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/translate"
)

func TestDecodeErrorFixtures(t *testing.T) {
	cases := []struct {
		fixture     string
		typ         string
		msgPrefix   string
		retryable   bool
		shouldRetry bool
	}{
		{"error_429_rate_limit.response.json", "rate_limit_error",
			"This request would exceed your organization's rate limit", true, true},
		{"error_400_orphan_tool_result.response.json", "invalid_request_error",
			"messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			rec := readRecordedReply(t, tc.fixture)
			e := DecodeError("anthropic", rec.StatusCode, rec.Body, rec.header)
			if e.Provider != "anthropic" || e.Status != rec.StatusCode || e.Type != tc.typ {
				t.Errorf("got %+v", e)
			}
			if !strings.HasPrefix(e.Message, tc.msgPrefix) {
				t.Errorf("message = %q", e.Message)
			}
			if e.ShouldRetry == nil || *e.ShouldRetry != tc.shouldRetry {
				t.Errorf("ShouldRetry = %v, want %v", e.ShouldRetry, tc.shouldRetry)
			}
			if e.Retryable() != tc.retryable {
				t.Errorf("Retryable() = %v", e.Retryable())
			}
		})
	}
}

func TestDecodeErrorRetryAfter(t *testing.T) {
	headers := map[string]string{"retry-after": "7"}
	e := DecodeError("anthropic", 529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
		func(name string) string { return headers[name] })
	if e.RetryAfter != 7*time.Second || e.Type != "overloaded_error" || !e.Retryable() {
		t.Errorf("got %+v", e)
	}
	if e.ShouldRetry != nil {
		t.Errorf("ShouldRetry = %v without the header", *e.ShouldRetry)
	}
}

func TestDecodeErrorNonJSONBodies(t *testing.T) {
	long := strings.Repeat("é", 400)
	cases := []struct {
		body, want string
		status     int
	}{
		{"<html>Bad Gateway</html>\n", "<html>Bad Gateway</html>", 502},
		{"", "Service Unavailable", 503},
		{`{"unexpected":"shape"}`, `{"unexpected":"shape"}`, 500},
		{`{"type":"error","error":{"type":"api_error"}}`, `{"type":"error","error":{"type":"api_error"}}`, 500},
	}
	for _, tc := range cases {
		e := DecodeError("a", tc.status, []byte(tc.body), nil)
		if e.Message != tc.want {
			t.Errorf("body %q: message = %q, want %q", tc.body, e.Message, tc.want)
		}
	}
	// The truncation rules are translate.TruncateText's and tested there.
	if e, want := DecodeError("a", 500, []byte(long), nil), translate.TruncateText([]byte(long), translate.MaxErrorText); e.Message != want {
		t.Errorf("long body: message = %q, want %q", e.Message, want)
	}
}
