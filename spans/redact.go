package spans

import (
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

// truncateUTF8 is cutUTF8 marking the cut with "...".
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutUTF8(s, n) + "..."
}
