package proxy

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fasthttp"
)

// openAIErrorFields maps a classified error to OpenAI's error shape. Provider errors keep the
// provider's status where it means something to the caller (429 with its Retry-After, 400
// for a request the provider rejected); an upstream 401/403 concerns tracegate's own key and
// 5xx the provider's health, so both become 502.
func openAIErrorFields(c classified) (status int, typ, code string) {
	status = c.Status
	switch c.Code {
	case codeInvalidRequest, codeMissingVariables:
		return status, "invalid_request_error", ""
	case codeUnauthorized:
		return status, "invalid_request_error", "invalid_api_key"
	case codeNotFound:
		return status, "invalid_request_error", "not_found"
	case codeUnsupportedModel:
		return status, "invalid_request_error", "model_not_found"
	case codeMissingProviderKey:
		return status, "invalid_request_error", "missing_provider_key"
	case codeTimeout:
		return status, "timeout_error", "timeout"
	case codeNetworkError:
		return status, "api_error", "registry_unavailable"
	case codeUnknown:
		if status == http.StatusServiceUnavailable { // server.max_concurrent reached
			return status, "server_error", "overloaded"
		}
	case codeProviderError:
		typ, code = "upstream_error", "provider_error"
		if u := c.Upstream; u != nil {
			if u.Type != "" {
				typ = u.Type
			}
			if u.Code != "" {
				code = u.Code
			}
			switch {
			case u.Status == http.StatusTooManyRequests:
				status = http.StatusTooManyRequests
			case u.Status >= 400 && u.Status < 500 && u.Status != 401 && u.Status != 403 && u.Status != 407:
				status = u.Status
			case u.Status == 529 || u.Status == http.StatusServiceUnavailable:
				status = http.StatusServiceUnavailable
			}
		}
		return status, typ, code
	}
	return status, "api_error", ""
}

// writeOpenAIError writes {"error":{"message","type","param","code"}}.
func writeOpenAIError(ctx *fasthttp.RequestCtx, err error) classified {
	c := classify(err)
	status, typ, code := openAIErrorFields(c)
	b := ctx.Response.Body()[:0]
	b = append(b, `{"error":{"message":`...)
	b = jsonw.String(b, c.Message)
	b = append(b, `,"type":`...)
	b = jsonw.String(b, typ)
	b = append(b, `,"param":`...)
	param := paramOf(err)
	b = jsonw.StringOrNull(b, param, param != "")
	b = append(b, `,"code":`...)
	b = jsonw.StringOrNull(b, code, code != "")
	b = append(b, `}}`...)
	ctx.Response.SetBodyRaw(b)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	if c.Upstream != nil && c.Upstream.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(c.Upstream.RetryAfter.Seconds()+0.999)))
	}
	c.Status = status
	return c
}

// paramOf returns the request parameter an error blames (OpenAI's error.param), if it names one.
func paramOf(err error) string {
	var p interface{ Param() string }
	if errors.As(err, &p) {
		return p.Param()
	}
	return ""
}

// streamErrorEvent is the error event that ends a broken OpenAI-format stream: the provider's
// own error when it sent one, else the error as writeOpenAIError would describe it.
func streamErrorEvent(err error) *llm.UpstreamError {
	c := classify(err)
	if c.Upstream != nil {
		return c.Upstream
	}
	_, typ, code := openAIErrorFields(c)
	return &llm.UpstreamError{Type: typ, Code: code, Message: c.Message}
}
