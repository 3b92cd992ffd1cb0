package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tracegate/tracegate/llm"
)

// Streams go through net/http rather than fasthttp: a stream must be cancelled the moment its
// client goes away, and net/http ties the upstream connection to a context, while fasthttp's
// client-side body streaming has had races around early close.
var streamClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by the backend timeout through the context
		ForceAttemptHTTP2:     true,
	},
}

// maxErrorBody bounds how much of an error reply is read.
const maxErrorBody = 1 << 20

// Stream is an open provider stream of canonical events. Close it when done.
type Stream struct {
	Target Target
	dec    streamDecoder
	body   io.Closer
	cancel context.CancelFunc
	done   bool
	finish func(*llm.Response, error)
}

// Next returns the next event, io.EOF at the clean end of the stream.
func (s *Stream) Next() (llm.StreamEvent, error) {
	if s.done {
		return llm.StreamEvent{}, io.EOF
	}
	ev, err := s.dec.Next()
	if err != nil {
		s.done = true
		var ue *llm.UpstreamError
		if errors.As(err, &ue) && s.Target.Backend != nil {
			ue.Provider = s.Target.Backend.Name // decoders do not know the configured name
		}
		return ev, err
	}
	if ev.Type == llm.EventToolCallStart && ev.Signature != "" {
		signatures.remember([]llm.ToolCall{{ID: ev.ToolCallID, Signature: ev.Signature}})
	}
	return ev, nil
}

// Close releases the upstream connection; it cancels the request if the stream is unfinished.
func (s *Stream) Close() error {
	s.done = true
	if s.cancel != nil {
		s.cancel()
	}
	if s.body != nil {
		return s.body.Close()
	}
	return nil
}

// openStream starts a streaming request; errors before the first byte are returned here, so
// they can be retried.
func openStream(ctx context.Context, t Target, req *llm.Request) (*Stream, error) {
	b := t.Backend
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	if b.Kind == KindMock {
		return mockStream(ctx, t, req)
	}
	if b.codec.keepsSignatures {
		req = signatures.restore(req)
	}
	sent := *req
	sent.Model = t.Model
	sent.Stream = true
	body, err := b.codec.encode(nil, &sent)
	if err != nil {
		return nil, fmt.Errorf("encode request for %s: %w", b.Name, err)
	}
	resp, cancel, err := b.post(ctx, b.codec.path(t.Model, true), body)
	if err != nil {
		return nil, err
	}
	return &Stream{Target: t, dec: b.codec.streamDecoder(resp.Body), body: resp.Body, cancel: cancel}, nil
}

// post sends a request through net/http and returns a 2xx response with its body open; the
// caller must close the body and call cancel. Error statuses are decoded here.
func (b *Backend) post(ctx context.Context, path string, body []byte) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("build request for %s: %w", b.Name, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	b.codec.auth(func(k, v string) { hreq.Header.Set(k, v) }, b.apiKey)
	for _, h := range b.headers {
		hreq.Header.Set(h[0], h[1])
	}
	resp, err := streamClient.Do(hreq)
	if err != nil {
		cancel()
		return nil, nil, b.transportError(ctx, err)
	}
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		cancel()
		return nil, nil, b.redactKeys(b.codec.decodeError(b.Name, resp.StatusCode, data, resp.Header.Get))
	}
	return resp, cancel, nil
}

// transportError classifies a net/http failure: the caller going away, a timeout, or a
// connection problem.
func (b *Backend) transportError(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s after %s: %w", b.Name, b.Timeout, ErrTimeout)
	}
	return &ConnectionError{Provider: b.Name, Err: err}
}
