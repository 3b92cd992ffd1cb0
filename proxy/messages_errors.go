package proxy

import (
	"net/http"
	"strconv"

	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/valyala/fasthttp"
)

// statusOverloaded is Anthropic's status for an overloaded service; its SDKs retry it.
const statusOverloaded = 529

// anthropicErrorFields maps a classified error to the Messages API's status and error type,
// the one mapping of this surface. Provider errors keep the provider's status where it means
// something to the caller (400s, 429 with its retry-after, 529); an upstream 401/403 concerns
// tracegate's own key and other 5xx the provider's health, so both become a 502 api_error.
func anthropicErrorFields(c classified) (status int, typ string) {
	status = c.Status
	switch c.Code {
	case codeInvalidRequest, codeMissingVariables, codeUnsupportedModel, codeMissingProviderKey:
		if status == http.StatusRequestEntityTooLarge {
			return status, "request_too_large"
		}
		return status, "invalid_request_error"
	case codeUnauthorized:
		return status, "authentication_error"
	case codeNotFound:
		return status, "not_found_error"
	case codeTimeout:
		return status, "timeout_error"
	case codeUnknown:
		if status == http.StatusServiceUnavailable { // server.max_concurrent reached
			return statusOverloaded, "overloaded_error"
		}
	case codeProviderError:
		u := c.Upstream
		if u == nil {
			return status, "api_error"
		}
		switch {
		case u.Status == http.StatusTooManyRequests:
			return u.Status, "rate_limit_error"
		case u.Status == statusOverloaded, u.Status == http.StatusServiceUnavailable, u.Type == "overloaded_error":
			return statusOverloaded, "overloaded_error"
		case u.Status >= 400 && u.Status < 500 && u.Status != 401 && u.Status != 403 && u.Status != 407:
			return u.Status, anthropicTypeOf(u.Status)
		}
		return status, "api_error"
	}
	if status >= 500 || status < 400 {
		return status, "api_error"
	}
	return status, anthropicTypeOf(status)
}

// anthropicTypeOf is the error type Anthropic uses with a 4xx status.
func anthropicTypeOf(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	}
	return "invalid_request_error"
}

// writeAnthropicError writes {"type":"error","error":{"type","message"}} with the status of
// anthropicErrorFields, and the provider's retry hint as retry-after.
func writeAnthropicError(ctx *fasthttp.RequestCtx, err error) classified {
	c := classify(err)
	status, typ := anthropicErrorFields(c)
	ctx.Response.SetBodyRaw(anthropic.AppendError(ctx.Response.Body()[:0], typ, c.Message))
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	if c.Upstream != nil && c.Upstream.RetryAfter > 0 {
		ctx.Response.Header.Set("retry-after", strconv.Itoa(int(c.Upstream.RetryAfter.Seconds()+0.999)))
	}
	c.Status = status
	return c
}

// anthropicStreamErrorType is the error type of the event that ends a broken stream. A
// provider's own error event keeps its type when it is one of Anthropic's; other formats'
// types are mapped (Gemini's UNAVAILABLE is an overload, RESOURCE_EXHAUSTED a rate limit,
// Bedrock's throttlingException a rate limit).
func anthropicStreamErrorType(err error) (typ, message string) {
	c := classify(err)
	if u := c.Upstream; u != nil && u.Status == 0 {
		switch u.Type {
		case "invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large",
			"rate_limit_error", "api_error", "overloaded_error", "timeout_error", "billing_error":
			return u.Type, u.Message
		case "UNAVAILABLE":
			return "overloaded_error", u.Message
		case "RESOURCE_EXHAUSTED":
			return "rate_limit_error", u.Message
		// Bedrock's stream exceptions, named as its HTTP errors are (translate/bedrock), get
		// the types a client retries (a throttle; a model still loading or a service down is
		// an overload) or gives up on, as it would their HTTP forms.
		case "ThrottlingException":
			return "rate_limit_error", u.Message
		case "ServiceUnavailableException", "ModelNotReadyException":
			return "overloaded_error", u.Message
		case "ValidationException":
			return "invalid_request_error", u.Message
		case "ModelTimeoutException":
			return "timeout_error", u.Message
		}
	}
	_, typ = anthropicErrorFields(c)
	return typ, c.Message
}
