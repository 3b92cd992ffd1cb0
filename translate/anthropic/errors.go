package anthropic

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

// maxErrorText bounds the message kept from a body that is not Anthropic's error envelope
// (an HTML page from a proxy, say): enough to diagnose, small enough for a span attribute.
const maxErrorText = 512

// DecodeError decodes an error reply into an UpstreamError for the named provider. It reads
// the {"type":"error","error":{"type","message"}} envelope, falls back to the body's text, and
// takes the retry hints from the headers (header may be nil).
func DecodeError(provider string, status int, body []byte, header translate.HeaderGetter) *llm.UpstreamError {
	e := &llm.UpstreamError{
		Provider:    provider,
		Status:      status,
		RetryAfter:  translate.RetryAfter(header, time.Now()),
		ShouldRetry: translate.ShouldRetry(header),
	}
	p := parserPool.Get()
	if v, err := p.ParseBytes(body); err == nil && v.Type() == fastjson.TypeObject {
		if ev := v.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
			e.Type = string(ev.GetStringBytes("type"))
			e.Message = string(ev.GetStringBytes("message"))
		}
	}
	parserPool.Put(p)
	if e.Message == "" {
		e.Message = truncateText(body, maxErrorText)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// truncateText returns body as trimmed, valid UTF-8 text of at most max bytes plus an ellipsis.
func truncateText(body []byte, max int) string {
	cut := false
	if len(body) > max {
		body = body[:max]
		// Back off to the start of a rune the cut split, so it does not turn into U+FFFD.
		for i := len(body) - 1; i >= 0 && i >= len(body)-utf8.UTFMax; i-- {
			if utf8.RuneStart(body[i]) {
				if !utf8.FullRune(body[i:]) {
					body = body[:i]
				}
				break
			}
		}
		cut = true
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
	if cut && s != "" {
		s += "…"
	}
	return s
}
