package translate

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HeaderGetter returns a response header's value, or "" when absent.
type HeaderGetter func(name string) string

// RetryAfter reads a provider's retry hint: retry-after-ms first, then Retry-After as seconds
// or an HTTP date. It returns 0 when there is no usable hint.
func RetryAfter(get HeaderGetter, now time.Time) time.Duration {
	if get == nil {
		return 0
	}
	if v := strings.TrimSpace(get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(get("retry-after"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// ShouldRetry reads the x-should-retry header: nil when absent or not a boolean.
func ShouldRetry(get HeaderGetter) *bool {
	if get == nil {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(get("x-should-retry"))) {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	return nil
}
