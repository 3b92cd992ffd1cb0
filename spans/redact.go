package spans

import (
	"unicode/utf8"

	"github.com/tracegate/tracegate/internal/redact"
)

const maxStatusDescription = 512

// statusDescription is err's message, key-shaped tokens replaced, cut to a bounded length.
func statusDescription(err error) string {
	if err == nil {
		return ""
	}
	return truncateUTF8(redact.Secrets(err.Error()), maxStatusDescription)
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
