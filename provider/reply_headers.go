package provider

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"

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
	"x-request-id":              true,
	"request-id":                true, // Anthropic's
	"anthropic-organization-id": true,
	"openai-processing-ms":      true,
	"openai-organization":       true,
	"openai-version":            true,
	"retry-after":               true,
	"retry-after-ms":            true,
}

// Rate-limit headers: OpenAI's x-ratelimit-* and Anthropic's anthropic-ratelimit-*.
var (
	rateLimitPrefix          = []byte("x-ratelimit-")
	anthropicRateLimitPrefix = []byte("anthropic-ratelimit-")
)

// keptReplyHeaders copies the allowed headers of a net/http reply (see replyHeaderKeeper).
func keptReplyHeaders(h http.Header) []ReplyHeader {
	var k replyHeaderKeeper
	for name, vs := range h {
		for _, v := range vs {
			keepHeader(&k, name, v)
		}
	}
	return k.kept()
}

// keptFastReplyHeaders is keptReplyHeaders for a fasthttp reply.
func keptFastReplyHeaders(h *fasthttp.ResponseHeader) []ReplyHeader {
	var k replyHeaderKeeper
	for name, v := range h.All() {
		keepHeader(&k, name, v) // fasthttp's bytes: a string is made only for a kept header
	}
	return k.kept()
}

// replyHeaderKeeper collects the allowed headers: kept returns the named ones first, then
// the rate-limit ones, each by name (net/http keeps no order), at most maxReplyHeaders.
type replyHeaderKeeper struct{ out []ReplyHeader }

func keepHeader[S string | []byte](k *replyHeaderKeeper, key, v S) {
	var lower [64]byte
	if len(key) > len(lower) || len(v) > maxReplyHeaderValue {
		return
	}
	name := lower[:len(key)]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		name[i] = c
	}
	if replyHeaderNames[string(name)] || bytes.HasPrefix(name, rateLimitPrefix) || bytes.HasPrefix(name, anthropicRateLimitPrefix) {
		k.out = append(k.out, ReplyHeader{Name: string(name), Value: string(v)})
	}
}

func (k *replyHeaderKeeper) kept() []ReplyHeader {
	out := k.out
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
	switch x := rc.(type) {
	case *exchange:
		if x.resp != nil {
			return keptReplyHeaders(x.resp.Header)
		}
	case *fastCall:
		return keptFastReplyHeaders(&x.resp.Header)
	}
	return nil
}
