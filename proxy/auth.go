package proxy

import (
	"bytes"
	"crypto/subtle"

	"github.com/valyala/fasthttp"
)

var bearerPrefix = []byte("Bearer ")

// callerKey returns the key the caller sent: the bearer token, else the x-api-key header
// (how the Anthropic SDKs and Claude Code authenticate), or nil. Every surface accepts both,
// so one key works whichever client a team points at tracegate.
func callerKey(ctx *fasthttp.RequestCtx) []byte {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) > len(bearerPrefix) && bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return bytes.TrimSpace(h[len(bearerPrefix):])
	}
	if k := bytes.TrimSpace(ctx.Request.Header.Peek("x-api-key")); len(k) > 0 {
		return k
	}
	return nil
}

// authorized reports whether the caller's key is one of keys; with no keys configured every
// caller is (the loopback sidecar case). Every key is compared, in constant time, so the time
// taken says nothing about which key nearly matched.
func authorized(ctx *fasthttp.RequestCtx, keys [][]byte) bool {
	if len(keys) == 0 {
		return true
	}
	got := callerKey(ctx)
	if len(got) == 0 {
		return false
	}
	ok := 0
	for _, k := range keys {
		ok |= subtle.ConstantTimeCompare(got, k)
	}
	return ok == 1
}
