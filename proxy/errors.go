package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/store"
	"github.com/valyala/fasthttp"
)

// Error codes of the run API (DESIGN.md section 2), as the Tracia SDKs know them.
const (
	codeInvalidRequest     = "INVALID_REQUEST"
	codeMissingVariables   = "MISSING_VARIABLES"
	codeUnauthorized       = "UNAUTHORIZED"
	codeNotFound           = "NOT_FOUND"
	codeConflict           = "CONFLICT"
	codeUnsupportedModel   = "UNSUPPORTED_MODEL"
	codeMissingProviderKey = "MISSING_PROVIDER_KEY"
	codeProviderError      = "PROVIDER_ERROR"
	codeTimeout            = "TIMEOUT"
	codeNetworkError       = "NETWORK_ERROR"
	codeAborted            = "ABORTED"
	codeUnknown            = "UNKNOWN"
)

var (
	errUnauthorized     = errors.New("missing or invalid API key")
	errBodyTooLarge     = errors.New("request body too large")
	errRouteNotFound    = errors.New("no such endpoint")
	errMethod           = errors.New("method not allowed")
	errUnsupportedMedia = fmt.Errorf("unsupported media type: %w", llm.ErrInvalidRequest)
)

// statusClientClosed is nginx's convention for a request whose client went away.
const statusClientClosed = 499

// classified is an error as the caller sees it.
type classified struct {
	Status  int
	Code    string // run API code
	Message string
	// Upstream is set for provider errors, so the OpenAI endpoint can keep the provider's
	// status and retry hint.
	Upstream *llm.UpstreamError
}

// classify is the one place that maps errors to HTTP statuses and codes.
func classify(err error) classified {
	var (
		mv *registry.MissingVariablesError
		mk *provider.MissingKeyError
		ue *llm.UpstreamError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &mv):
		return classified{http.StatusBadRequest, codeMissingVariables, msg, nil}
	case errors.Is(err, errUnsupportedMedia):
		return classified{http.StatusUnsupportedMediaType, codeInvalidRequest, msg, nil}
	case errors.Is(err, errBodyTooLarge):
		return classified{http.StatusRequestEntityTooLarge, codeInvalidRequest, msg, nil}
	case errors.Is(err, llm.ErrInvalidRequest):
		return classified{http.StatusBadRequest, codeInvalidRequest, msg, nil}
	case errors.Is(err, errUnauthorized):
		return classified{http.StatusUnauthorized, codeUnauthorized, msg, nil}
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, errRouteNotFound), errors.Is(err, store.ErrNotFound):
		return classified{http.StatusNotFound, codeNotFound, msg, nil}
	case errors.Is(err, registry.ErrConflict):
		return classified{http.StatusConflict, codeConflict, msg, nil}
	case errors.Is(err, errMethod), errors.Is(err, registry.ErrReadOnly):
		return classified{http.StatusMethodNotAllowed, codeInvalidRequest, msg, nil}
	case errors.Is(err, provider.ErrUnsupportedModel):
		return classified{http.StatusBadRequest, codeUnsupportedModel, msg, nil}
	case errors.As(err, &mk):
		return classified{http.StatusBadRequest, codeMissingProviderKey, msg, nil}
	}
	// Provider and transport failures: llm.Classify sorts them for the spans as well.
	failure := llm.Classify(err)
	switch {
	case failure == llm.FailureCancelled:
		return classified{statusClientClosed, codeAborted, "request cancelled", nil}
	case failure == llm.FailureTimeout:
		return classified{http.StatusGatewayTimeout, codeTimeout, msg, nil}
	case errors.Is(err, errOverloaded):
		// The run API has no code for it; UNKNOWN keeps the SDKs' enum, the status says it.
		return classified{http.StatusServiceUnavailable, codeUnknown, msg, nil}
	case errors.Is(err, registry.ErrUnavailable):
		return classified{http.StatusServiceUnavailable, codeNetworkError, msg, nil}
	case failure == llm.FailureUpstream:
		errors.As(err, &ue)
		return classified{http.StatusBadGateway, codeProviderError, "provider error: " + msg, ue}
	case failure == llm.FailureConnection, failure == llm.FailureMalformed, failure == llm.FailureTruncated:
		return classified{http.StatusBadGateway, codeProviderError, "provider error: " + msg, nil}
	}
	return classified{http.StatusInternalServerError, codeUnknown, msg, nil}
}

// writeRunError writes the run API's error shape: {"error":{"code","message"}}.
func writeRunError(ctx *fasthttp.RequestCtx, err error) classified {
	c := classify(err)
	b := ctx.Response.Body()[:0]
	b = append(b, `{"error":{"code":`...)
	b = jsonw.String(b, c.Code)
	b = append(b, `,"message":`...)
	b = jsonw.String(b, c.Message)
	b = append(b, `}}`...)
	ctx.Response.SetBodyRaw(b)
	ctx.SetStatusCode(c.Status)
	ctx.SetContentType("application/json")
	if c.Upstream != nil && c.Upstream.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(c.Upstream.RetryAfter.Seconds()+0.999)))
	}
	return c
}

// bodyTooLarge builds the error for a body over the limit.
func bodyTooLarge(limit int) error {
	return fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, limit)
}
