package redact

import "strings"

// Provider error messages echo (partly masked) keys ("Incorrect API key provided:
// sk-proj-****abcd"), and those messages reach callers, spans and logs. Anything shaped like a
// key is replaced.

const (
	redacted     = "[REDACTED]"
	minKeyLength = 8
)

var keyPrefixes = []string{"sk-", "sk_", "AIza", "gsk_", "xai-", "hf_", "pk-", "rk-", "ya29."}

// Secrets returns s with every token shaped like an API key (sk-..., AIza..., gsk_..., and
// the like) and every token after "Bearer" or "Basic" replaced by [REDACTED]. It returns s
// itself when there is nothing to replace.
func Secrets(s string) string {
	var b strings.Builder
	afterBearer := false
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
		if afterBearer || looksLikeKey(token) {
			b.WriteString(s[last:i])
			b.WriteString(redacted)
			last = j
		}
		afterBearer = strings.EqualFold(token, "bearer") || strings.EqualFold(token, "basic")
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
