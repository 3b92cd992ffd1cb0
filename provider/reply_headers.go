package provider

import (
	"bytes"
	"io"

	"github.com/valyala/fasthttp"
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

// keptReplyHeaders copies the allowed headers of h, in the order the provider sent them.
func keptReplyHeaders(h *fasthttp.ResponseHeader) []ReplyHeader {
	var out []ReplyHeader
	var lower [64]byte
	for k, v := range h.All() {
		if len(out) == maxReplyHeaders || len(k) > len(lower) || len(v) > maxReplyHeaderValue {
			continue
		}
		name := lower[:len(k)]
		for i, c := range k {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			name[i] = c
		}
		if replyHeaderNames[string(name)] || bytes.HasPrefix(name, rateLimitPrefix) {
			out = append(out, ReplyHeader{Name: string(name), Value: string(v)})
		}
	}
	return out
}

// streamReplyHeaders returns the kept headers of an open upstream stream.
func streamReplyHeaders(rc io.ReadCloser) []ReplyHeader {
	if s, ok := rc.(*upstreamStream); ok {
		return keptReplyHeaders(&s.resp.Header)
	}
	return nil
}
