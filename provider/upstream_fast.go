package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// Calls to backends without a signing hook, streams included, take fasthttp's connection
// pool instead of net/http's client: 13 to 65 µs and about 70 allocations less a call
// (BenchmarkUpstreamRoundTrip against BenchmarkFasthttpRoundTrip), about 20 µs and 57
// allocations less a stream (BenchmarkUpstreamStream against BenchmarkUpstreamStreamNetHTTP). fasthttp's own Do cannot
// be abandoned while it waits for reply headers, so the exchange is run here step by step on
// a pooled connection: context.AfterFunc moves the connection's deadlines into the past the
// moment the call's context ends (the caller left, the timeout passed), which fails the
// blocked write or read at once; the connection is then closed, which ends the call upstream.
// The dial alone is bounded by the backend timeout rather than the context (fasthttp dials
// take no context); a connection from the pool needs none. A stream's body is read from the
// connection's own buffered reader (Response.StreamBody), and its idle clock is the same
// timer, re-armed by every Read. Stored-response lookups and signed requests (cloud
// providers) keep net/http.

// fastHost is a backend's fasthttp connection pool, built on first use; ok is false when the
// base URL is not plain http(s), and the calls then go through net/http.
type fastHost struct {
	once sync.Once
	hc   *fasthttp.HostClient
	ok   bool
}

func (b *Backend) fastHostClient() (*fasthttp.HostClient, bool) {
	f := b.fast
	if f == nil {
		return nil, false
	}
	f.once.Do(func() {
		u, err := url.Parse(b.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			return
		}
		addr := u.Host
		if u.Port() == "" {
			if u.Scheme == "https" {
				addr += ":443"
			} else {
				addr += ":80"
			}
		}
		f.hc = &fasthttp.HostClient{
			Addr:                   addr,
			IsTLS:                  u.Scheme == "https",
			Name:                   "tracegate",
			MaxConns:               maxFastConns,
			MaxIdleConnDuration:    90 * time.Second,
			ReadBufferSize:         16 << 10,
			WriteBufferSize:        16 << 10,
			DisablePathNormalizing: true,
		}
		f.ok = true
	})
	return f.hc, f.ok
}

// usesFast reports whether a call with these properties can take fastRoundTrip.
func (b *Backend) usesFast() bool {
	if b.codec == nil || b.codec.authorize != nil {
		return false
	}
	_, ok := b.fastHostClient()
	return ok
}

// fastRoundTrip is roundTripWith over fasthttp (see the comment at the top of the file).
func (b *Backend) fastRoundTrip(ctx context.Context, method, path string, body []byte, extra [][2]string, reply *bytebufferpool.ByteBuffer, keepHeaders bool) ([]ReplyHeader, error) {
	c, err := b.fastSend(ctx, method, path, body, extra, false)
	if err != nil {
		return nil, err
	}
	reusable := !c.resp.ConnectionClose()
	defer func() { c.end(reusable) }()
	if status := c.resp.StatusCode(); status >= 300 {
		data := c.resp.Body()
		if len(data) > maxErrorBody {
			data = data[:maxErrorBody]
		}
		return nil, b.redactKeys(b.codec.decodeError(b.Name, status, data, c.headerGetter))
	}
	_, _ = reply.Write(c.resp.Body())
	if !keepHeaders {
		return nil, nil
	}
	return keptFastReplyHeaders(&c.resp.Header), nil
}

// fastCall is one exchange on a pooled fasthttp connection. A streamed one is the open
// reply body (Read, Close), like exchange: its context ends when the caller's does, when the
// reply headers take longer than the backend timeout, or when the body stays silent longer
// than stream_idle_timeout, and the connection's deadlines move into the past at that moment.
type fastCall struct {
	b       *Backend
	hc      *fasthttp.HostClient
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	req     *fasthttp.Request
	resp    *fasthttp.Response
	br      *bufio.Reader    // held while a streamed body is read
	body    io.Reader        // the streamed body
	stop    func() bool      // stops the deadline move; false once it ran
	release func(reuse bool) // returns the connection to the pool, or closes it
	eof     bool             // the body ended cleanly
	failed  bool             // a Read failed: the connection is not reused
	closed  bool
}

// fastSend writes the request on a pooled connection and reads the reply: whole, bounded by
// max_response_bytes, or, for a stream, its headers, leaving the body to Read. The caller
// ends the call (end, or Close for a stream).
func (b *Backend) fastSend(ctx context.Context, method, path string, body []byte, extra [][2]string, stream bool) (*fastCall, error) {
	hc, _ := b.fastHostClient()
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	c := &fastCall{b: b, hc: hc, ctx: cctx, cancel: cancel, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
	c.timer = time.AfterFunc(b.Timeout, func() { // the cause is formatted only when it is one
		cancel(fmt.Errorf("%s gave no reply within its %s timeout: %w", b.Name, b.Timeout, ErrTimeout))
	})
	req := c.req
	req.SetRequestURI(b.BaseURL + path)
	req.URI().DisablePathNormalizing = true // what HostClient.Do would set: paths go as built
	req.Header.SetMethod(method)
	req.Header.SetUserAgent("tracegate") // before the configured headers, which may replace it
	// The shared headers, then this call's extras, then the configured ones, which win: the
	// order requestHeader gives net/http, without copying the shared map for each call.
	for k, vs := range b.header(stream) {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(extra) > 0 {
		for _, kv := range extra {
			req.Header.Set(kv[0], kv[1])
		}
		for _, kv := range b.headers {
			req.Header.Set(kv[0], kv[1])
		}
	}
	if body != nil {
		req.SetBodyRaw(body)
	}

	// Connections the server closed while they were idle are skipped: net/http notices such
	// closes as they happen (a goroutine reads every idle connection); fasthttp finds them
	// only when a request fails on one, and a POST is then not retried.
	cc, err := hc.AcquireConn(b.Timeout, false)
	for i := 0; err == nil && i < maxStaleConns && closedByPeer(cc.Conn()); i++ {
		hc.CloseConn(cc)
		cc, err = hc.AcquireConn(b.Timeout, false)
	}
	if err != nil {
		err = b.fastError(cctx, err)
		c.end(false)
		return nil, err
	}
	conn := cc.Conn()
	c.stop = context.AfterFunc(cctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c.release = func(reuse bool) {
		if reuse {
			hc.ReleaseConn(cc)
		} else {
			hc.CloseConn(cc)
		}
	}

	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		err = b.fastError(cctx, err)
		c.end(false)
		return nil, err
	}
	c.br = hc.AcquireReader(conn)
	c.resp.StreamBody = stream // max_response_bytes is then not applied: streams have no limit
	err = c.resp.ReadLimitBody(c.br, int(b.MaxResponseBytes))
	if err == nil && stream {
		c.body = c.resp.BodyStream()
		if c.resp.StatusCode() < 300 {
			c.timer.Reset(b.StreamIdleTimeout)
		}
		return c, nil
	}
	hc.ReleaseReader(c.br)
	c.br = nil
	if err != nil {
		if errors.Is(err, fasthttp.ErrBodyTooLarge) && context.Cause(cctx) == nil {
			err = fmt.Errorf("%s reply is over max_response_bytes (%d): %w", b.Name, b.MaxResponseBytes, ErrResponseTooLarge)
		} else {
			err = b.fastError(cctx, err)
		}
		c.end(false)
		return nil, err
	}
	return c, nil
}

// end releases the call: the connection goes back to the pool when reuse says it may and the
// call's context has not moved its deadlines; otherwise it is closed, which ends the call
// upstream.
func (c *fastCall) end(reuse bool) {
	c.timer.Stop()
	if c.release != nil {
		if c.body != nil {
			_ = c.resp.CloseBodyStream()
			c.body = nil
		}
		if c.br != nil {
			c.hc.ReleaseReader(c.br)
			c.br = nil
		}
		c.release(c.stop() && reuse)
	}
	c.cancel(errExchangeClosed)
	fasthttp.ReleaseRequest(c.req)
	fasthttp.ReleaseResponse(c.resp)
}

// Read reads a streamed reply body. Every byte restarts the stream's idle clock.
func (c *fastCall) Read(p []byte) (int, error) {
	if c.closed {
		return 0, errExchangeClosed
	}
	n, err := c.body.Read(p)
	if n > 0 {
		c.timer.Reset(c.b.StreamIdleTimeout)
	}
	if err == io.EOF {
		c.eof = true
	} else if err != nil {
		c.failed = true
		err = c.b.fastError(c.ctx, err)
	}
	return n, err
}

// Close ends a streamed call. A body read to (nearly) its end is drained, bounded in bytes
// and time, so that its connection is reused; any other is closed.
func (c *fastCall) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.eof && !c.failed && c.ctx.Err() == nil {
		// Bounded: a caller that closes an unfinished stream without cancelling it must not
		// wait for the provider's next bytes.
		stop := time.AfterFunc(maxDrainWait, func() { c.cancel(errExchangeClosed) })
		_, err := io.CopyN(io.Discard, c.body, maxDrain)
		stop.Stop()
		c.eof = err == io.EOF
	}
	c.end(c.eof && !c.resp.ConnectionClose())
	return nil
}

// errorBody reads the start of a streamed error reply.
func (c *fastCall) errorBody() []byte {
	data, _ := io.ReadAll(io.LimitReader(c, maxErrorBody))
	return data
}

// headerGetter reads the reply's headers (Retry-After and friends).
func (c *fastCall) headerGetter(k string) string { return string(c.resp.Header.Peek(k)) }

// maxFastConns bounds a backend's pooled connections. It is far above what
// server.max_concurrent lets run, so that the pool never refuses a call: fasthttp fails one
// at once (ErrNoFreeConns) when all its connections are busy.
const maxFastConns = 1 << 16

// maxStaleConns bounds how many pooled connections a call discards as stale before dialling.
const maxStaleConns = 4

// closedByPeer reports whether an idle plain-TCP connection has something to read: the
// server's close (end of file, a reset) or bytes nobody asked for. Either way it cannot carry
// a request. One non-blocking peek. TLS connections are taken as live: their socket may hold
// records that are no close (a TLS 1.3 session ticket after the handshake), and telling them
// apart would mean reading them; a stale TLS connection fails its call as a connection error.
func closedByPeer(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = rc.Read(func(fd uintptr) bool {
		var buf [1]byte
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err != syscall.EAGAIN // data, end of file (no error) or a reset
		return true                    // never wait
	})
	return closed
}

// fastError is the reason a step failed: the context's cause when it ended (the deadline
// move is what failed the step), else the transport's error.
func (b *Backend) fastError(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return &ConnectionError{Provider: b.Name, Err: err}
}
