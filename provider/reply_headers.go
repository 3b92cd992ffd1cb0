package provider

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
)

// ReplyHeader is one response header of the provider's reply worth handing to the caller.
type ReplyHeader struct{ Name, Value string }

// Limits on what is kept of a reply's headers: a provider is not trusted to bound them.
const (
	maxReplyHeaders     = 32
	maxReplyHeaderValue = 1 << 10
)

// replyHeaderNames are the headers, lower-case, a passed-through reply keeps: the ids and
// timings support asks for, and the rate-limit state clients back off by. It is an allow
// list, so hop-by-hop headers (Connection, Transfer-Encoding, ...), cookies, content headers
// tracegate sets itself and anything carrying the provider's credentials never pass.
var replyHeaderNames = map[string]bool{
	"x-request-id":         true,
	"openai-processing-ms": true,
	"openai-organization":  true,
	"openai-version":       true,
	"retry-after":          true,
	"retry-after-ms":       true,
}

var rateLimitPrefix = []byte("x-ratelimit-")

// keptReplyHeaders copies the allowed headers of h: the named ones first, then the rate-limit
// ones, each by name (net/http keeps no order), at most maxReplyHeaders.
func keptReplyHeaders(h http.Header) []ReplyHeader {
	var out []ReplyHeader
	var lower [64]byte
	for k, vs := range h {
		if len(k) > len(lower) {
			continue
		}
		name := lower[:len(k)]
		for i := 0; i < len(k); i++ {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			name[i] = c
		}
		isNamed := replyHeaderNames[string(name)]
		if !isNamed && !bytes.HasPrefix(name, rateLimitPrefix) {
			continue
		}
		for _, v := range vs {
			if len(v) <= maxReplyHeaderValue {
				out = append(out, ReplyHeader{Name: string(name), Value: v})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ReplyHeader) int {
		an, bn := replyHeaderNames[a.Name], replyHeaderNames[b.Name]
		if an != bn {
			if an {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(out) > maxReplyHeaders {
		out = out[:maxReplyHeaders]
	}
	return out
}

// streamReplyHeaders returns the kept headers of an open upstream stream.
func streamReplyHeaders(rc io.ReadCloser) []ReplyHeader {
	if x, ok := rc.(*exchange); ok && x.resp != nil {
		return keptReplyHeaders(x.resp.Header)
	}
	return nil
}
