package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Streams use fasthttp's client with response body streaming, chosen on measurement: against
// net/http's client (whose write and read loops run in goroutines of their own) it took about
// 55 µs off the added time to first byte in a minimal relay on this project's bench machine.
// Cancellation is what net/http made easy: here a stream is tied to its context with
// context.AfterFunc, which closes the body stream; fasthttp (since 1.7x) supports closing a
// streamed body while a Read is blocked, interrupting it. The relays are tested under -race
// with clients that disconnect mid-stream.
var streamClient = &fasthttp.Client{
	Name:                   "tracegate",
	StreamResponseBody:     true,
	MaxConnsPerHost:        1024,
	MaxIdleConnDuration:    90 * time.Second,
	ReadBufferSize:         16 << 10,
	DisablePathNormalizing: true,
}

// maxErrorBody bounds how much of an error reply is read.
const maxErrorBody = 1 << 20

// maxDrain bounds what Close reads to reach the end of a finished stream.
const maxDrain = 4 << 10

// upstreamStream is the open body of a streamed reply.
type upstreamStream struct {
	backend *Backend
	resp    *fasthttp.Response
	body    io.Reader
	// closer interrupts a blocked Read; safe from any goroutine, once.
	closer    interface{ CloseWithError(error) error }
	stopAbort func() bool
	aborted   chan struct{}
	closed    bool
}

// Read reads the body; running past the backend timeout (the connection's deadline) is
// reported as ErrTimeout, like a call that never answered.
func (s *upstreamStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil && err != io.EOF {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("%s stream ran past its %s timeout: %w", s.backend.Name, s.backend.Timeout, ErrTimeout)
		}
	}
	return n, err
}

// Close releases the stream. A finished stream's end is read first, so that its connection
// goes back to the pool; an unfinished one's connection is dropped, which also ends the
// request upstream. Cancel the context first when the stream is unfinished: draining waits
// for bytes otherwise.
func (s *upstreamStream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopAbort() {
		_, _ = io.CopyN(io.Discard, s.body, maxDrain)
	} else {
		<-s.aborted // the context ended: wait for the interrupt to finish
	}
	if s.closer != nil {
		_ = s.closer.CloseWithError(nil)
	}
	fasthttp.ReleaseResponse(s.resp)
	return nil
}

var errStreamCancelled = errors.New("stream cancelled")

// postStream sends a streaming request and returns the 2xx body, open; error statuses are
// decoded here. The stream ends when ctx does, or after the backend timeout in all.
func (b *Backend) postStream(ctx context.Context, path string, body []byte, extra ...[2]string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI(b.BaseURL + path)
	req.Header.Set("Accept", "text/event-stream")
	b.prepareWith(&req.Header, extra)
	req.SetBodyRaw(body)
	if err := b.authorize(ctx, req); err != nil {
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	deadline := time.Now().Add(b.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err := streamClient.DoDeadline(req, resp, deadline)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s after %s: %w", b.Name, b.Timeout, ErrTimeout)
		}
		return nil, &ConnectionError{Provider: b.Name, Err: err}
	}
	s := &upstreamStream{backend: b, resp: resp, body: resp.BodyStream(), aborted: make(chan struct{})}
	if s.body == nil {
		s.body = eofReader{}
	}
	s.closer, _ = s.body.(interface{ CloseWithError(error) error })
	s.stopAbort = context.AfterFunc(ctx, func() {
		defer close(s.aborted)
		if s.closer != nil {
			_ = s.closer.CloseWithError(errStreamCancelled)
		}
	})
	if status := resp.StatusCode(); status >= 300 {
		data, _ := io.ReadAll(io.LimitReader(s.body, maxErrorBody))
		ue := b.codec.decodeError(b.Name, status, data, func(k string) string { return string(resp.Header.Peek(k)) })
		s.Close()
		return nil, b.redactKeys(ue)
	}
	return s, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
