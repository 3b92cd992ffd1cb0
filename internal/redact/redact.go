package redact

import "strings"

// Provider error messages echo (partly masked) keys ("Incorrect API key provided:
// sk-proj-****abcd"), and those messages reach callers, spans and logs. Anything shaped like a
// key is replaced.

const (
	redacted     = "[REDACTED]"
	minKeyLength = 8
)

// AKIA/ASIA are AWS access key ids, ABSK Bedrock API keys, eyJ a JWT (Entra ID tokens).
var keyPrefixes = []string{"sk-", "sk_", "AIza", "gsk_", "xai-", "hf_", "pk-", "rk-", "ya29.", "AKIA", "ASIA", "ABSK", "eyJ"}

// Secrets returns s with every token shaped like an API key (sk-..., AIza..., gsk_..., AWS
// key ids, JWTs and the like) and every token after "Bearer", "Basic", "Signature" (SigV4)
// or "X-Amz-Security-Token" replaced by [REDACTED]. It returns s
// itself when there is nothing to replace.
func Secrets(s string) string {
	var b strings.Builder
	afterBearer, afterSignature := false, false
	last := 0
	for i := 0; i < len(s); {
		if !isTokenByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isTokenByte(s[j]) {
			j++
		}
		token := s[i:j]
		if afterBearer || afterSignature && len(token) >= minKeyLength || looksLikeKey(token) {
			b.WriteString(s[last:i])
			b.WriteString(redacted)
			last = j
		}
		// What follows these is a secret: a bearer token, a SigV4 signature or session token.
		// After "signature" only a key-length token is one: AWS's own error text ("the
		// signature we calculated does not match the signature you provided") stays readable.
		afterSignature = strings.EqualFold(token, "signature")
		afterBearer = strings.EqualFold(token, "bearer") || strings.EqualFold(token, "basic") ||
			strings.EqualFold(token, "x-amz-security-token")
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func looksLikeKey(token string) bool {
	if len(token) < minKeyLength {
		return false
	}
	for _, p := range keyPrefixes {
		if strings.HasPrefix(token, p) {
			return true
		}
	}
	return false
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '*' || c == '+' || c == '/'
}
