package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tracegate/tracegate/internal/alarm"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// Calls to backends without a signing hook, streams included, take fasthttp's connection
// pool instead of net/http's client: 13 to 65 µs and about 70 allocations less a call
// (BenchmarkUpstreamRoundTrip against BenchmarkFasthttpRoundTrip), about 20 µs and 57
// allocations less a stream (BenchmarkUpstreamStream against BenchmarkUpstreamStreamNetHTTP).
// fasthttp's own Do cannot be abandoned while it waits for reply headers, so the exchange is
// run here step by step on a pooled connection: the moment the call is aborted (its caller's
// context ended, its timer fired) the connection's deadlines move into the past, which fails
// the blocked write or read at once; the connection is then closed, which ends the call
// upstream. The dial alone is bounded by the backend timeout rather than the context
// (fasthttp dials take no context); a connection from the pool needs none. A stream's body
// is read from the connection's own buffered reader (Response.StreamBody), and its idle clock
// is the same timer, its deadline moved by every Read. Stored-response lookups and signed
// requests (cloud providers) keep net/http.

// fastHost is a backend's fasthttp connection pool, built on first use; ok is false when the
// base URL is not plain http(s), and the calls then go through net/http. calls pools the
// state of non-streaming calls (fastCall), which a call returns before its caller sees the
// reply: a call of the hot path allocates nothing (BenchmarkFastRoundTrip).
type fastHost struct {
	once    sync.Once
	hc      *fasthttp.HostClient
	ok      bool
	calls   sync.Pool
	newCall func() *fastCall
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
		hc := &fasthttp.HostClient{
			Addr:                   addr,
			IsTLS:                  u.Scheme == "https",
			Name:                   "tracegate",
			MaxConns:               maxFastConns,
			MaxIdleConnDuration:    90 * time.Second,
			ReadBufferSize:         16 << 10,
			WriteBufferSize:        16 << 10,
			DisablePathNormalizing: true,
			DialTimeout:            dialPeekable,
		}
		f.hc = hc
		// The connection slot's method values are made once here, not per call.
		take, give, discard := hc.AcquireConn, hc.ReleaseConn, hc.CloseConn
		f.newCall = func() *fastCall { return newFastCall(b, hc, newConnSlot(take, give, discard)) }
		f.calls.New = func() any {
			c := f.newCall()
			c.keep = true
			return c
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
	c := b.fast.calls.Get().(*fastCall)
	defer b.fast.calls.Put(c) // after end: nothing refers to the call any more
	if err := c.send(ctx, method, path, body, extra, false); err != nil {
		return nil, err
	}
	defer c.end(!c.resp.ConnectionClose())
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

// fastStream starts a streamed POST: it writes the request and reads the reply headers,
// leaving the body to Read. The caller ends the call with Close. A stream's fastCall is its
// own: the caller may hold it after Close, so it is never pooled.
func (b *Backend) fastStream(ctx context.Context, path string, body []byte, extra [][2]string) (*fastCall, error) {
	c := b.fast.newCall() // set up by usesFast, which every caller checks first
	if err := c.send(ctx, http.MethodPost, path, body, extra, true); err != nil {
		return nil, err
	}
	return c, nil
}

// fastCall is one exchange on a pooled fasthttp connection. A streamed one is the open
// reply body (Read, Close), like exchange. The call is aborted when its caller's context
// ends, when the reply headers take longer than the backend timeout, or when a streamed body
// stays silent longer than stream_idle_timeout: abort moves the connection's deadlines into
// the past, which fails the blocked write or read at once, and the connection is then
// closed, which ends the call upstream.
//
// Instead of a derived context, a timer and a context.AfterFunc per call (eight allocations),
// the call keeps its own abort state, and its timer and callbacks are made once with it.
// Callbacks of a previous use of a pooled call can still run late (a timer or a context
// watch that fired as the call ended): each checks that it is due for the current use.
type fastCall struct {
	b      *Backend
	hc     *fasthttp.HostClient
	conn   connHolder // the pooled connection while the call holds one
	req    *fasthttp.Request
	resp   *fasthttp.Response
	uri    []byte // scratch for the request URI
	parent context.Context
	hook   DoneNotifier // the parent's allocation-free watch, when it has one
	stop   func() bool  // the parent's context.AfterFunc otherwise

	timer *alarm.Alarm // not a runtime timer: see package alarm
	due   atomic.Int64 // monoNow the timer is armed for; 0: disarmed
	// waitingFor is what the armed deadline bounds (a clockFor), for the error when it passes.
	waitingFor atomic.Int32
	// timerSet: the alarm is set. A pooled call leaves it set when it ends (see arm), so that
	// most calls touch neither the alarm nor the clock's lock.
	timerSet     atomic.Bool
	onParentDone func()

	mu    sync.Mutex
	use   uint64   // counts the call's uses (begin), so that a late callback knows its own
	cause error    // why the call was aborted; nil while it may run
	wire  net.Conn // the held connection, whose deadlines abort moves

	// keep: a pooled call, whose request and reply (with the reply's body buffer) stay with it
	// from one use to the next instead of going back to fasthttp's pools: the reply body then
	// neither comes from a pool shared with the server's replies (where buffers of other
	// sizes make most takes a miss) nor regrows to the reply's size on every call.
	keep bool

	br     *bufio.Reader // held while a streamed body is read
	body   io.Reader     // the streamed body
	eof    bool          // the body ended cleanly
	failed bool          // a Read failed: the connection is not reused
	closed bool
}

// DoneNotifier is a context that calls a hook when it ends without what context.AfterFunc
// allocates per call. The proxy's client watch implements it; any other context is watched
// with context.AfterFunc.
type DoneNotifier interface {
	// NotifyDone arranges for hook to be called once when the context ends (at once if it
	// has), replacing an earlier hook.
	NotifyDone(hook func())
	// StopNotify removes the hook.
	StopNotify()
}

func newFastCall(b *Backend, hc *fasthttp.HostClient, conn connHolder) *fastCall {
	c := &fastCall{b: b, hc: hc, conn: conn}
	c.onParentDone = c.parentDone
	c.timer = alarm.New(c.timerFired)
	return c
}

// send writes the request on a pooled connection and reads the reply: whole, bounded by
// max_response_bytes, or, for a stream, its headers. On failure the call has ended.
func (c *fastCall) send(ctx context.Context, method, path string, body []byte, extra [][2]string, stream bool) error {
	b, hc := c.b, c.hc
	if err := b.checkKey(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.begin(ctx)
	req := c.req
	c.uri = append(append(c.uri[:0], b.BaseURL...), path...)
	req.SetRequestURIBytes(c.uri)
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
	conn, err := c.conn.acquire(b.Timeout)
	for i := 0; err == nil && i < maxStaleConns && closedByPeer(conn); i++ {
		c.conn.release(false)
		conn, err = c.conn.acquire(b.Timeout)
	}
	if err != nil {
		err = c.failure(err)
		c.end(false)
		return err
	}
	c.hold(conn)

	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		err = c.failure(err)
		c.end(false)
		return err
	}
	c.br = hc.AcquireReader(conn)
	c.resp.StreamBody = stream // max_response_bytes is then not applied: streams have no limit
	err = c.resp.ReadLimitBody(c.br, int(b.MaxResponseBytes))
	if err == nil && stream {
		c.body = c.resp.BodyStream()
		if c.resp.StatusCode() < 300 {
			c.waitingFor.Store(clockStreamIdle)
			c.arm(b.StreamIdleTimeout)
		}
		return nil
	}
	hc.ReleaseReader(c.br)
	c.br = nil
	if err != nil {
		if errors.Is(err, fasthttp.ErrBodyTooLarge) && c.abortCause() == nil {
			err = fmt.Errorf("%s reply is over max_response_bytes (%d): %w", b.Name, b.MaxResponseBytes, ErrResponseTooLarge)
		} else {
			err = c.failure(err)
		}
		c.end(false)
		return err
	}
	return nil
}

// begin readies the call for a use under ctx: fresh request and reply, the timer armed for
// the reply headers, ctx watched.
func (c *fastCall) begin(ctx context.Context) {
	if c.req == nil {
		c.req, c.resp = fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		c.resp.KeepBodyBuffer = c.keep
	}
	c.mu.Lock()
	c.cause, c.wire, c.parent = nil, nil, ctx
	c.use++
	c.mu.Unlock()
	c.br, c.body, c.eof, c.failed, c.closed = nil, nil, false, false, false
	c.waitingFor.Store(clockReply)
	c.arm(c.b.Timeout)
	if ctx.Done() == nil {
		return // a context that never ends needs no watch
	}
	if h, ok := ctx.(DoneNotifier); ok {
		c.hook = h
		h.NotifyDone(c.onParentDone)
	} else {
		c.stop = context.AfterFunc(ctx, c.onParentDone)
	}
}

// arm (re)starts the call's clock: it aborts the call unless re-armed or ended within d.
func (c *fastCall) arm(d time.Duration) {
	c.due.Store(monoNow() + int64(d))
	// An alarm still set from an earlier use of a pooled call fires no later than this
	// deadline (the same timeout, armed earlier), finds the call not yet due and sets itself
	// for the rest. The order matters: due is stored before timerSet is read, and the alarm
	// clears timerSet before it reads due, so one of the two always sets the alarm.
	if !c.timerSet.Load() || !c.keep {
		c.timerSet.Store(true)
		c.timer.Set(min(d, maxAlarmStep))
	}
}

// maxAlarmStep bounds how far ahead a call's alarm is set; a longer deadline is reached in
// steps. A pooled call's alarm, left set, holds the call (and its reply buffer) in the clock
// until it fires: with steps, a call the pool has dropped is let go within a second of its
// last use, not at the end of a ten-minute timeout.
const maxAlarmStep = time.Second

// extend moves the armed deadline to d from now without touching the timer, which is far
// cheaper than a timer reset for every chunk of a stream: a timer that fires before the
// deadline re-arms itself for the rest.
func (c *fastCall) extend(d time.Duration) {
	c.due.Store(monoNow() + int64(d))
}

func (c *fastCall) timerFired() {
	c.timerSet.Store(false)
	use := c.currentUse() // before due: a use that begins after this is not aborted below
	due := c.due.Load()
	if due == 0 {
		return // disarmed: a late firing of an earlier use
	}
	if now := monoNow(); now < due {
		c.timerSet.Store(true)
		c.timer.Set(min(time.Duration(due-now), maxAlarmStep)) // not due yet: extended, armed again, or a step
		return
	}
	c.abortUse(use, c.timeoutError(c.waitingFor.Load()))
}

// What a call's deadline bounds: the reply headers (the provider timeout), the gap between a
// stream's bytes (stream_idle_timeout), or the drain of a stream closed before its end.
const (
	clockReply int32 = iota
	clockStreamIdle
	clockDrain
)

func (c *fastCall) timeoutError(waitingFor int32) error {
	switch waitingFor {
	case clockStreamIdle:
		return streamIdleError(c.b)
	case clockDrain:
		return fmt.Errorf("%s stream closed before its end did not finish within %s: %w", c.b.Name, maxDrainWait, ErrTimeout)
	}
	return replyTimeoutError(c.b)
}

func (c *fastCall) currentUse() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.use
}

func (c *fastCall) parentDone() {
	c.mu.Lock()
	p, use := c.parent, c.use
	c.mu.Unlock()
	if p == nil || p.Err() == nil {
		return // a late watch of an earlier use
	}
	cause := context.Cause(p)
	if cause == nil { // defensive: Cause falls back to Err itself
		cause = p.Err()
	}
	c.abortUse(use, cause)
}

// hold records the connection the call now holds; an abort that came first moves its
// deadlines at once.
func (c *fastCall) hold(conn net.Conn) {
	c.mu.Lock()
	c.wire = conn
	if c.cause != nil {
		_ = conn.SetDeadline(pastDeadline)
	}
	c.mu.Unlock()
}

// abortUse aborts the use a late callback saw (see abortLocked): a call that has ended and begun again
// since is not touched, or a callback of one use could abort the next.
func (c *fastCall) abortUse(use uint64, cause error) {
	c.mu.Lock()
	if c.use == use {
		c.abortLocked(cause)
	}
	c.mu.Unlock()
}

// abortLocked ends the call for cause: the first cause wins, and the held connection's
// deadlines move into the past. Call with c.mu held.
func (c *fastCall) abortLocked(cause error) {
	if c.cause == nil {
		c.cause = cause
		if c.wire != nil {
			_ = c.wire.SetDeadline(pastDeadline)
		}
	}
}

func (c *fastCall) abortCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// monoNow is a monotonic clock reading in nanoseconds, which wall-clock steps cannot move;
// never 0, which marks a disarmed timer.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

var monoEpoch = time.Now()

// pastDeadline is the deadline abort sets: any time in the past fails the blocked step.
var pastDeadline = time.Unix(1, 0)

// failure is the reason a step failed: why the call was aborted (the deadline move is what
// failed the step), else the transport's error.
func (c *fastCall) failure(err error) error {
	if cause := c.abortCause(); cause != nil {
		return cause
	}
	return &ConnectionError{Provider: c.b.Name, Err: err}
}

// end releases the call: the connection goes back to the pool when reuse says it may and the
// call was not aborted (its deadlines moved); otherwise it is closed, which ends the call
// upstream.
func (c *fastCall) end(reuse bool) {
	c.due.Store(0)
	if !c.keep {
		// A call of its own (a stream) leaves nothing set behind: its alarm would otherwise
		// hold it, and a place in the clock, until the timeout it no longer needs.
		c.timer.Stop()
		c.timerSet.Store(false)
	}
	if c.hook != nil {
		c.hook.StopNotify()
	} else if c.stop != nil {
		c.stop()
	}
	c.mu.Lock()
	aborted, held := c.cause != nil, c.wire != nil
	if !aborted {
		c.cause = errExchangeClosed // a late abort finds the call over
	}
	c.wire, c.parent = nil, nil
	c.mu.Unlock()
	if held {
		if c.body != nil {
			_ = c.resp.CloseBodyStream()
			c.body = nil
		}
		if c.br != nil {
			c.hc.ReleaseReader(c.br)
			c.br = nil
		}
		c.conn.release(reuse && !aborted)
	}
	c.hook, c.stop = nil, nil
	if c.keep {
		c.req.Reset()
		if cap(c.resp.Body()) > maxKeptReplyBody {
			_ = c.resp.SwapBody(nil) // a large reply's buffer is not pinned by the pool
		}
		c.resp.Reset()
		return
	}
	fasthttp.ReleaseRequest(c.req)
	fasthttp.ReleaseResponse(c.resp)
	c.req, c.resp = nil, nil
}

// maxKeptReplyBody bounds the reply body buffer a pooled call keeps for its next use.
const maxKeptReplyBody = 64 << 10

// Read reads a streamed reply body. Every byte restarts the stream's idle clock.
func (c *fastCall) Read(p []byte) (int, error) {
	if c.closed {
		return 0, errExchangeClosed
	}
	n, err := c.body.Read(p)
	if n > 0 {
		c.extend(c.b.StreamIdleTimeout)
	}
	if err == io.EOF {
		c.eof = true
	} else if err != nil {
		c.failed = true
		err = c.failure(err)
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
	if !c.eof && !c.failed && c.abortCause() == nil {
		// Bounded: a caller that closes an unfinished stream without cancelling it must not
		// wait for the provider's next bytes. The call's own clock bounds it (an abort when it
		// runs out fails the read), not a runtime timer of its own: see package alarm.
		c.waitingFor.Store(clockDrain)
		c.arm(maxDrainWait)
		_, err := io.CopyN(io.Discard, c.body, maxDrain)
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

// connHolder is one call's hold on a pooled connection: acquire takes one (idle or dialled),
// release gives it back or closes it.
type connHolder interface {
	acquire(timeout time.Duration) (net.Conn, error)
	release(reuse bool)
}

// connSlot implements connHolder over a HostClient, whose connection type is unexported: the
// type parameter names it, so holding one costs no closure per call.
type connSlot[C interface{ Conn() net.Conn }] struct {
	take          func(time.Duration, bool) (C, error)
	give, discard func(C)
	cc            C
	held          bool
}

func newConnSlot[C interface{ Conn() net.Conn }](take func(time.Duration, bool) (C, error), give, discard func(C)) *connSlot[C] {
	return &connSlot[C]{take: take, give: give, discard: discard}
}

func (s *connSlot[C]) acquire(timeout time.Duration) (net.Conn, error) {
	cc, err := s.take(timeout, false)
	if err != nil {
		return nil, err
	}
	s.cc, s.held = cc, true
	return cc.Conn(), nil
}

func (s *connSlot[C]) release(reuse bool) {
	if !s.held {
		return
	}
	if reuse {
		if p, ok := s.cc.Conn().(*peekConn); ok {
			p.idleSince = monoNow()
		}
		s.give(s.cc)
	} else {
		s.discard(s.cc)
	}
	var none C
	s.cc, s.held = none, false
}

// maxFastConns bounds a backend's pooled connections. It is far above what
// server.max_concurrent lets run, so that the pool never refuses a call: fasthttp fails one
// at once (ErrNoFreeConns) when all its connections are busy.
const maxFastConns = 1 << 16

// maxStaleConns bounds how many pooled connections a call discards as stale before dialling.
const maxStaleConns = 4

// dialPeekable dials like fasthttp's default dialer and wraps plain-TCP connections in a
// peekConn, so that closedByPeer can check them without allocating.
func dialPeekable(addr string, timeout time.Duration) (net.Conn, error) {
	var conn net.Conn
	var err error
	if timeout > 0 {
		conn, err = fasthttp.DialTimeout(addr, timeout)
	} else {
		conn, err = fasthttp.Dial(addr)
	}
	if err != nil {
		return nil, err
	}
	return newPeekConn(conn), nil
}

// peekConn is a dialled connection with its raw socket and peek callback kept from the dial.
type peekConn struct {
	net.Conn
	raw    syscall.RawConn // nil: no socket to peek at
	peekFn func(fd uintptr) bool
	closed bool // the last peek's verdict
	// idleSince is the monoNow the connection was dialled or last given back to the pool.
	idleSince int64
}

// peekAfterIdle is how long a connection must have been idle before closedByPeer peeks at
// it. A server closes an idle connection after its keep-alive timeout (seconds: 5 for Node
// and uvicorn, 75 for nginx) or all of them at once when it shuts down; a close that comes
// less than a millisecond after the connection's last reply is as likely to be missed by a
// peek (the FIN is still in flight on a real network) as caught. Under load connections go
// back to work within microseconds, and the peek (one system call) would be a few percent of
// a call's CPU.
const peekAfterIdle = int64(time.Millisecond)

func newPeekConn(conn net.Conn) net.Conn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	p := &peekConn{Conn: conn, raw: raw, idleSince: monoNow()}
	p.peekFn = p.peek
	return p
}

func (p *peekConn) peek(fd uintptr) bool {
	var buf [1]byte
	_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.closed = err != syscall.EAGAIN // data, end of file (no error) or a reset
	return true                      // never wait
}

// closedByPeer reports whether a plain-TCP connection idle for peekAfterIdle or longer has
// something to read: the server's close (end of file, a reset) or bytes nobody asked for.
// Either way it cannot carry a request. One non-blocking peek. TLS connections (fasthttp
// wraps the peekConn) are taken as live: their socket may hold records that are no close (a
// TLS 1.3 session ticket after the handshake), and telling them apart would mean reading
// them; a stale TLS connection fails its call as a connection error.
func closedByPeer(c net.Conn) bool {
	p, ok := c.(*peekConn)
	if !ok || monoNow()-p.idleSince < peekAfterIdle {
		return false
	}
	p.closed = false
	_ = p.raw.Read(p.peekFn)
	return p.closed
}
