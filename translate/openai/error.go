package openai

import (
	"net/http"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

// DecodeError decodes an error reply into an UpstreamError for the named provider. It reads the
// OpenAI envelope {"error":{message,type,param,code}} and the looser shapes compatible servers
// use ({"error":"..."}, or message/type/code at the top level); any other body becomes the
// message, truncated. Retry hints come from the headers.
func DecodeError(provider string, status int, body []byte, header translate.HeaderGetter) *llm.UpstreamError {
	ue := decodeErrorBody(provider, status, body)
	if ue.Message == "" {
		ue.Message = translate.TruncateText(body, translate.MaxErrorText)
	}
	if ue.Message == "" {
		ue.Message = http.StatusText(status)
	}
	ue.RetryAfter = translate.RetryAfter(header, time.Now())
	ue.ShouldRetry = translate.ShouldRetry(header)
	return ue
}

func decodeErrorBody(provider string, status int, body []byte) *llm.UpstreamError {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil || v.Type() != fastjson.TypeObject {
		return &llm.UpstreamError{Provider: provider, Status: status}
	}
	if e := v.Get("error"); !isNull(e) {
		return upstreamErrorFrom(provider, status, e)
	}
	return upstreamErrorFrom(provider, status, v)
}

// EncodeStreamError appends an in-stream error frame, `data: {"error":{...}}`, the shape
// OpenAI's SDKs check for once a 200 stream has begun.
func EncodeStreamError(dst []byte, err *llm.UpstreamError) []byte {
	dst = append(dst, "data: "...)
	dst = appendErrorObject(dst, err)
	return append(dst, '\n', '\n')
}

// appendErrorObject appends {"error":{"message","type","param","code"}}.
func appendErrorObject(dst []byte, err *llm.UpstreamError) []byte {
	msg, typ, code := "upstream error", "api_error", ""
	if err != nil {
		if err.Message != "" {
			msg = err.Message
		}
		if err.Type != "" {
			typ = err.Type
		}
		code = err.Code
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = jsonw.String(dst, msg)
	dst = append(dst, `,"type":`...)
	dst = jsonw.String(dst, typ)
	dst = append(dst, `,"param":null,"code":`...)
	if code == "" {
		dst = append(dst, "null"...)
	} else {
		dst = jsonw.String(dst, code)
	}
	return append(dst, '}', '}')
}
