package redact

import "testing"

func TestSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"openai: status 500 server_error: try again":    "openai: status 500 server_error: try again",
		"key sk-ant-api03-XYZXYZXYZ rejected":           "key [REDACTED] rejected",
		"sk-12345678":                                   "[REDACTED]",
		"Authorization: Bearer tok_abcdef; other":       "Authorization: Bearer [REDACTED]; other",
		"short sk-1 stays":                              "short sk-1 stays",
		"url ?key=AIzaSyDxxxxxxxxxxxxxxxx&alt=sse boom": "url ?key=[REDACTED]&alt=sse boom",
	} {
		if got := Secrets(in); got != want {
			t.Errorf("Secrets(%q) = %q, want %q", in, got, want)
		}
	}
}
