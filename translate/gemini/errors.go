package gemini

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

// maxRetryDelay bounds a retryDelay hint, so that a hostile value cannot overflow a Duration.
const maxRetryDelay = 24 * time.Hour

// DecodeError decodes an error reply into an UpstreamError for the named provider.
//
// The google.rpc envelope {"error":{code,message,status,details}} gives Type (the canonical
// status, e.g. RESOURCE_EXHAUSTED), Message, and Code (an ErrorInfo reason such as
// API_KEY_INVALID). RetryAfter comes from a google.rpc.RetryInfo retryDelay, else from the
// Retry-After headers. A QuotaFailure on a per-day quota sets ShouldRetry to false: waiting
// seconds will not help. A body that is not an envelope becomes the message as text.
func DecodeError(provider string, status int, body []byte, header translate.HeaderGetter) *llm.UpstreamError {
	e := &llm.UpstreamError{Provider: provider, Status: status, ShouldRetry: translate.ShouldRetry(header)}
	p := parserPool.Get()
	if v, err := p.ParseBytes(body); err == nil {
		// Without alt=sse a streaming call wraps its error in a one-element array.
		if v.Type() == fastjson.TypeArray {
			if items, _ := v.Array(); len(items) > 0 {
				v = items[0]
			}
		}
		if ev := v.Get("error"); ev != nil && ev.Type() == fastjson.TypeObject {
			fillFromEnvelope(e, ev)
		}
	}
	parserPool.Put(p)
	if e.Message == "" {
		e.Message = fallbackMessage(status, body)
	}
	if e.RetryAfter == 0 {
		e.RetryAfter = translate.RetryAfter(header, time.Now())
	}
	return e
}

// fillFromEnvelope copies the fields of a google.rpc error object into e.
func fillFromEnvelope(e *llm.UpstreamError, ev *fastjson.Value) {
	e.Message = string(ev.GetStringBytes("message"))
	e.Type = string(ev.GetStringBytes("status"))
	for _, d := range ev.GetArray("details") {
		kind := d.GetStringBytes("@type")
		switch {
		case hasSuffix(kind, "google.rpc.RetryInfo"):
			if delay, ok := parseRetryDelay(d.GetStringBytes("retryDelay")); ok {
				e.RetryAfter = delay
			}
		case hasSuffix(kind, "google.rpc.QuotaFailure"):
			if hasDailyViolation(d) {
				no := false
				e.ShouldRetry = &no
			}
		case hasSuffix(kind, "google.rpc.ErrorInfo"):
			if reason := d.GetStringBytes("reason"); len(reason) > 0 && e.Code == "" {
				e.Code = string(reason)
			}
		}
	}
}

func hasSuffix(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && string(b[len(b)-len(suffix):]) == suffix
}

// hasDailyViolation reports whether a QuotaFailure names a per-day quota, which will not
// recover within any retry window.
func hasDailyViolation(d *fastjson.Value) bool {
	for _, v := range d.GetArray("violations") {
		if strings.Contains(string(v.GetStringBytes("quotaId")), "PerDay") {
			return true
		}
	}
	return false
}

// parseRetryDelay reads a google.protobuf.Duration in its JSON form: decimal seconds with an
// "s" suffix ("36s", "1.5s").
func parseRetryDelay(b []byte) (time.Duration, bool) {
	s, ok := strings.CutSuffix(strings.TrimSpace(string(b)), "s")
	if !ok {
		return 0, false
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || secs <= 0 {
		return 0, false
	}
	if secs >= maxRetryDelay.Seconds() {
		return maxRetryDelay, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// fallbackMessage turns a body that is not an error envelope into a bounded, printable message.
func fallbackMessage(status int, body []byte) string {
	s := translate.TruncateText(body, translate.MaxErrorText)
	if s == "" {
		s = http.StatusText(status)
	}
	if s == "" {
		s = "empty error body"
	}
	return s
}
