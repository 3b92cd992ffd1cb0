package anthropic

import (
	"net/http"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

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
		e.Message = translate.TruncateText(body, translate.MaxErrorText)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}
