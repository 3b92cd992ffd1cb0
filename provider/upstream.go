package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
)

// Stored-response lookups and signed (cloud) calls go through net/http's client; other
// calls, streaming or not, take upstream_fast.go's step-by-step fasthttp exchange, with the
// same guarantees. fasthttp's own Do (13 to 65 µs a call faster than net/http on loopback,
// BenchmarkFasthttpRoundTrip) cannot abandon a call while it waits for the reply headers, and a non-streaming LLM reply sends its headers
// only when the whole answer is ready: a client that left would go on being billed for
// minutes. net/http drops the connection the moment the request's context ends, at any stage,
// which is the guarantee DESIGN.md section 5 asks for.
var upstreamTransport = &http.Transport{
	DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ForceAttemptHTTP2:   true,
	MaxIdleConns:        0, // no global cap: MaxIdleConnsPerHost bounds each provider
	MaxIdleConnsPerHost: 1024,
	IdleConnTimeout:     90 * time.Second,
	TLSHandshakeTimeout: 10 * time.Second,
	ReadBufferSize:      16 << 10,
	WriteBufferSize:     16 << 10,
}

var upstreamClient = &http.Client{Transport: upstreamTransport}

// maxErrorBody bounds how much of an error reply is read.
const maxErrorBody = 1 << 20

// maxDrain and maxDrainWait bound what Close reads to reach the end of a finished reply, so
// that its connection is reused.
const (
	maxDrain     = 4 << 10
	maxDrainWait = time.Second
)

// exchange is one HTTP call to a backend. Its context ends when the caller's does, when the
// backend's timeout passes before the reply (non-streaming) or its first byte (streaming),
// or when a stream stays silent longer than the backend's stream_idle_timeout; the cause says
// which, and Read and send report it in place of the transport's bare "context canceled".
type exchange struct {
	b      *Backend
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	// streaming: the timer bounds the gap between stream bytes, no longer the reply headers.
	streaming atomic.Bool
	resp      *http.Response
	stream    bool
	closed    bool
}

// send sends body to path with method. It returns once the reply headers are in; the caller
// reads the body (readAll, or Read for a stream) and must Close the exchange. extra headers
// (a surface's own, such as anthropic-version) are set after the provider's auth and before
// the configured headers, which win. A nil body sends none. The codec's authorize hook sees
// the request as it will be sent.
func (b *Backend) send(ctx context.Context, method, path string, body []byte, extra [][2]string, stream bool) (*exchange, error) {
	if err := b.checkKey(); err != nil { // every surface's calls, whichever checked before
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	x := &exchange{b: b, ctx: cctx, cancel: cancel, stream: stream}
	x.timer = time.AfterFunc(b.Timeout, func() {
		if x.streaming.Load() {
			cancel(streamIdleError(b))
		} else {
			cancel(replyTimeoutError(b))
		}
	})
	var rb *requestBody
	var reqBody io.Reader = http.NoBody
	if body != nil {
		rb = &requestBody{Reader: bytes.NewReader(body)}
		rb.wg.Add(1)
		reqBody = rb
	}
	req, err := http.NewRequestWithContext(cctx, method, b.BaseURL+path, reqBody)
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("%s request: %w", b.Name, err)
	}
	req.ContentLength = int64(len(body))
	req.Header = b.requestHeader(stream, extra)
	if err := b.authorize(cctx, req, body); err != nil {
		cause := context.Cause(cctx)
		x.Close()
		if cause != nil {
			return nil, cause
		}
		return nil, err
	}
	resp, err := upstreamClient.Do(req)
	// The transport may still be writing the body when an upstream answers early; the caller
	// may reuse body once send returns, so wait for the write to end (the exchange's context
	// bounds the wait: cancelling aborts the write).
	if rb != nil {
		rb.wg.Wait()
	}
	if err != nil {
		cause := context.Cause(cctx)
		x.Close()
		if cause != nil {
			return nil, cause
		}
		return nil, &ConnectionError{Provider: b.Name, Err: err}
	}
	x.resp = resp
	if stream && resp.StatusCode < 300 {
		x.streaming.Store(true)
		x.timer.Reset(b.StreamIdleTimeout)
	}
	return x, nil
}

// replyTimeoutError is the error of a call whose reply headers did not come within the
// provider timeout; streamIdleError of a stream silent for longer than stream_idle_timeout.
func replyTimeoutError(b *Backend) error {
	return fmt.Errorf("%s gave no reply within its %s timeout: %w", b.Name, b.Timeout, ErrTimeout)
}

func streamIdleError(b *Backend) error {
	return fmt.Errorf("%s stream sent nothing for its %s stream_idle_timeout: %w", b.Name, b.StreamIdleTimeout, ErrTimeout)
}

// requestHeader is header, copied when this call adds to it (extra headers, or an authorize
// hook that signs the request): the shared one must stay as it is.
func (b *Backend) requestHeader(stream bool, extra [][2]string) http.Header {
	h := b.header(stream)
	if len(extra) == 0 && (b.codec == nil || b.codec.authorize == nil) {
		return h
	}
	h = h.Clone()
	for _, kv := range extra {
		h.Set(kv[0], kv[1])
	}
	for _, kv := range b.headers {
		h.Set(kv[0], kv[1])
	}
	return h
}

// header returns the request headers: content type, the provider's auth and configured
// extras. They are the same for every call, so they are built once per backend and shared:
// the client and transport only read a request's headers.
func (b *Backend) header(stream bool) http.Header {
	h := b.hdr
	h.once.Do(func() {
		h.call = make(http.Header, 4+len(b.headers))
		h.call["Content-Type"] = contentTypeJSON
		b.codec.auth(func(k, v string) { h.call.Set(k, v) }, b.apiKey)
		for _, kv := range b.headers {
			h.call.Set(kv[0], kv[1])
		}
		h.stream = h.call.Clone()
		h.stream["Accept"] = acceptSSE
	})
	if stream {
		return h.stream
	}
	return h.call
}

// requestHeaders are a backend's request headers, built on first use.
type requestHeaders struct {
	once         sync.Once
	call, stream http.Header
}

var (
	contentTypeJSON = []string{"application/json"}
	acceptSSE       = []string{"text/event-stream"}
)

// requestBody tells send when the transport is done with the request body.
type requestBody struct {
	*bytes.Reader
	wg   sync.WaitGroup
	once sync.Once
}

func (r *requestBody) Close() error {
	r.once.Do(r.wg.Done)
	return nil
}

// Read reads the reply body. Every byte of a stream restarts its idle clock.
func (x *exchange) Read(p []byte) (int, error) {
	n, err := x.resp.Body.Read(p)
	if n > 0 && x.stream {
		x.timer.Reset(x.b.StreamIdleTimeout)
	}
	if err != nil && err != io.EOF {
		err = x.cause(err)
	}
	return n, err
}

// cause replaces a transport error with the reason the exchange's context ended, if it did.
func (x *exchange) cause(err error) error {
	if c := context.Cause(x.ctx); c != nil {
		return c
	}
	return &ConnectionError{Provider: x.b.Name, Err: err}
}

// readAll reads a whole non-streaming reply into dst, failing with ErrResponseTooLarge past
// limit without reading further.
func (x *exchange) readAll(dst *bytebufferpool.ByteBuffer, limit int64) error {
	if x.resp.ContentLength > limit {
		return x.tooLarge(limit)
	}
	n, err := dst.ReadFrom(io.LimitReader(x, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return x.tooLarge(limit)
	}
	return nil
}

func (x *exchange) tooLarge(limit int64) error {
	return fmt.Errorf("%s reply is over max_response_bytes (%d): %w", x.b.Name, limit, ErrResponseTooLarge)
}

// errorBody reads the start of an error reply.
func (x *exchange) errorBody() []byte {
	data, _ := io.ReadAll(io.LimitReader(x, maxErrorBody))
	return data
}

// headerGetter reads the reply's headers (Retry-After and friends).
func (x *exchange) headerGetter(k string) string { return x.resp.Header.Get(k) }

// Close releases the exchange. A stream read to its end is drained a little so the
// connection is reused; otherwise the connection is dropped, which ends the call upstream.
func (x *exchange) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.timer.Stop()
	if x.resp != nil {
		if x.ctx.Err() == nil {
			// Bounded: a caller that closes an unfinished stream without cancelling it
			// must not wait for the provider's next bytes.
			stop := time.AfterFunc(maxDrainWait, func() { x.cancel(errExchangeClosed) })
			_, _ = io.CopyN(io.Discard, x.resp.Body, maxDrain)
			stop.Stop()
		}
		_ = x.resp.Body.Close()
	}
	x.cancel(errExchangeClosed)
	return nil
}

var errExchangeClosed = errors.New("exchange closed")
