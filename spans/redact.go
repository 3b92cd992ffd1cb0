package spans

import (
	"strings"
	"unicode/utf8"
)

// Span status descriptions carry error messages, and providers echo (partly masked) keys in
// theirs ("Incorrect API key provided: sk-proj-****abcd"). Keys must never reach spans, so
// anything shaped like one is replaced.

const (
	maxStatusDescription = 512
	redacted             = "[REDACTED]"
	minKeyLength         = 8
)

var keyPrefixes = []string{"sk-", "sk_", "AIza", "gsk_", "xai-", "hf_", "pk-", "rk-", "ya29."}

// statusDescription is err's message, key-shaped tokens replaced, cut to a bounded length.
func statusDescription(err error) string {
	if err == nil {
		return ""
	}
	return truncateUTF8(redactSecrets(err.Error()), maxStatusDescription)
}

func redactSecrets(s string) string {
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

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
