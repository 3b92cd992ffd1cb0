package redact

import (
	"strings"
	"testing"
)

func TestSecretsCloudCredentials(t *testing.T) {
	in := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7; " +
		"key AKIAIOSFODNN7EXAMPLE session ASIAXXXXXXXXXXXXXXXX X-Amz-Security-Token: FwoGZXIvYXdzEBYaDH, bedrock ABSKQmVkcm9ja0FQSUtleQ, jwt eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig"
	out := Secrets(in)
	for _, secret := range []string{"5d672d79c15b", "AKIAIOSFODNN7EXAMPLE", "ASIAXXXX", "FwoGZXIvYXdzEBYaDH", "ABSKQmVk", "eyJ0eXAi"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survived: %s", secret, out)
		}
	}
	if !strings.Contains(out, "us-east-1/bedrock") {
		t.Errorf("over-redacted: %s", out)
	}
}

// TestSecretsKeepsAWSSignatureErrors: AWS's signature error stays readable; only the words
// after "signature" that could be one are taken out.
func TestSecretsKeepsAWSSignatureErrors(t *testing.T) {
	msg := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	if got := Secrets(msg); got != msg {
		t.Errorf("Secrets(%q) = %q", msg, got)
	}
	if got := Secrets("signature 5d672d79c15b13162d9279b0855cfba6"); strings.Contains(got, "5d672d79") {
		t.Errorf("a signature after the word survived: %s", got)
	}
}
