package llm

import "testing"

func TestUpstreamErrorText(t *testing.T) {
	for _, c := range []struct {
		err  UpstreamError
		want string
	}{
		{UpstreamError{Provider: "openai", Status: 500, Type: "server_error", Message: "try again"}, "openai: status 500 server_error: try again"},
		{UpstreamError{Provider: "openai", Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "slow down"}, "openai: status 429 requests/rate_limit_exceeded: slow down"},
		{UpstreamError{Provider: "openai", Status: 429, Type: "insufficient_quota", Code: "insufficient_quota", Message: "quota"}, "openai: status 429 insufficient_quota: quota"},
		// Azure's errors carry a code and no type: no stray "/".
		{UpstreamError{Provider: "azure", Status: 429, Code: "429", Message: "Requests have exceeded the limit"}, "azure: status 429 429: Requests have exceeded the limit"},
		{UpstreamError{Provider: "gemini", Status: 400, Message: "bad"}, "gemini: status 400: bad"},
		{UpstreamError{Provider: "bedrock", Type: "ThrottlingException", Message: "wait"}, "bedrock: stream error ThrottlingException: wait"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}
