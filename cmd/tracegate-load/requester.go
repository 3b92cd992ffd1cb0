package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Bounds on one request's reading, beyond the deadline fasthttp enforces.
const (
	maxStreamReads    = 1 << 22
	errorSnippetBytes = 200
	readBufferBytes   = 16 << 10
)

// requester sends one kind of request to one URL. It is shared by all workers; each worker
// holds its own request, response and read buffer, so the hot path allocates nothing.
type requester struct {
	client *fasthttp.HostClient
	requestSpec
	auth string
}

// requestSpec is the one request a requester sends, over and over.
type requestSpec struct {
	target  string
	body    []byte
	stream  bool
	timeout time.Duration
	authKey string        // sent as a bearer token when set
	headers []headerField // sent as they are, after the tool's own (a peer's -peer-header)
}

// outcome is one request's result. errKind is empty on success and otherwise the bucket the
// error is counted in ("HTTP 404", "transport: timeout", ...); errDetail says more.
type outcome struct {
	latency   time.Duration
	ttfb      time.Duration
	chunks    int
	errKind   string
	errDetail string
}

// newRequester makes a requester for spec with room for maxConns connections.
func newRequester(spec requestSpec, maxConns int) (*requester, error) {
	u, err := loopbackURL(spec.target)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	r := &requester{
		client: &fasthttp.HostClient{
			Addr:                     addr,
			Name:                     "tracegate-load",
			IsTLS:                    u.Scheme == "https",
			MaxConns:                 maxConns,
			ReadTimeout:              spec.timeout,
			WriteTimeout:             spec.timeout,
			MaxIdleConnDuration:      time.Minute,
			StreamResponseBody:       spec.stream,
			NoDefaultUserAgentHeader: false,
		},
		requestSpec: spec,
	}
	if spec.authKey != "" {
		r.auth = "Bearer " + spec.authKey
	}
	return r, nil
}

// worker is one sender's reusable state. Not safe for concurrent use.
type worker struct {
	r    *requester
	req  *fasthttp.Request
	resp *fasthttp.Response
	buf  []byte
	sse  sseCounter
}

func (r *requester) newWorker() *worker {
	req := &fasthttp.Request{}
	req.SetRequestURI(r.target)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	if r.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	for _, h := range r.headers {
		req.Header.Set(h.name, h.value)
	}
	req.SetBodyRaw(r.body)
	return &worker{r: r, req: req, resp: &fasthttp.Response{}, buf: make([]byte, readBufferBytes)}
}

// close returns the worker's idle connections; requests in flight are not affected.
func (r *requester) close() { r.client.CloseIdleConnections() }

func (w *worker) do() outcome {
	start := time.Now()
	err := w.r.client.DoDeadline(w.req, w.resp, start.Add(w.r.timeout))
	if err != nil {
		return outcome{latency: time.Since(start), errKind: transportKind(err), errDetail: err.Error()}
	}
	if !w.r.stream {
		return w.finish(start, outcome{}, w.resp.Body())
	}
	return w.readStream(start)
}

// readStream reads the SSE body as it arrives: the first non-empty read is the time to first
// byte, the end of the body the whole-stream latency.
func (w *worker) readStream(start time.Time) outcome {
	var o outcome
	body := w.resp.BodyStream()
	if body == nil {
		// fasthttp had the whole body already (no stream to read): count it as one read.
		w.sse.reset()
		w.sse.feed(w.resp.Body())
		o.ttfb = time.Since(start)
		return w.finish(start, w.streamOutcome(o), w.resp.Body())
	}
	w.sse.reset()
	var snippet []byte
	var readErr error
	for range maxStreamReads {
		n, err := body.Read(w.buf)
		if n > 0 {
			if o.ttfb == 0 {
				o.ttfb = time.Since(start)
			}
			w.sse.feed(w.buf[:n])
			if len(snippet) < errorSnippetBytes && w.resp.StatusCode() >= 300 {
				snippet = append(snippet, w.buf[:min(n, errorSnippetBytes-len(snippet))]...)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	_ = w.resp.CloseBodyStream()
	w.sse.finish()
	if readErr != nil {
		return outcome{latency: time.Since(start), errKind: "stream: " + transportKind(readErr), errDetail: readErr.Error()}
	}
	return w.finish(start, w.streamOutcome(o), snippet)
}

func (w *worker) streamOutcome(o outcome) outcome {
	o.chunks = w.sse.events
	if w.resp.StatusCode() >= 200 && w.resp.StatusCode() < 300 && !w.sse.done {
		o.errKind = "stream: no [DONE]"
		o.errDetail = fmt.Sprintf("%d data events, then the body ended without data: [DONE]", w.sse.events)
	}
	return o
}

// finish stamps the latency and turns a non-2xx status into an error bucket, keeping the
// start of the body so a failed phase shows why it failed.
func (w *worker) finish(start time.Time, o outcome, body []byte) outcome {
	o.latency = time.Since(start)
	status := w.resp.StatusCode()
	if status < 200 || status >= 300 {
		o.errKind = "HTTP " + strconv.Itoa(status)
		o.errDetail = string(body[:min(len(body), errorSnippetBytes)])
	}
	return o
}

// transportKind buckets errors below HTTP: a handful of kinds a reader can act on.
func transportKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &netErr) && netErr.Timeout():
		return "transport: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "transport: connection reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: connection closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "transport: no free connections"
	default:
		return "transport: other"
	}
}
