package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tracegate/tracegate/llm"
)

// Stream is an open provider stream of canonical events. Close it when done.
type Stream struct {
	Target Target
	dec    streamDecoder
	body   io.ReadCloser
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
		return ev, streamError(err)
	}
	if ev.Type == llm.EventToolCallStart && ev.Signature != "" {
		signatures.remember([]llm.ToolCall{{ID: ev.ToolCallID, Signature: ev.Signature}})
	}
	return ev, nil
}

// Close releases the upstream connection; it cancels the request if the stream is unfinished.
func (s *Stream) Close() error {
	s.done = true
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
	rc, err := b.openBody(ctx, b.codec.path(t.Model, true), body)
	if err != nil {
		if s := b.refusedStream(t, err); s != nil {
			return s, nil
		}
		return nil, err
	}
	return &Stream{Target: t, dec: b.codec.streamDecoder(rc), body: rc}, nil
}

// openBody sends a streaming request and returns the 2xx body, open; error statuses are
// decoded here, so they can be retried. The body ends when ctx does, when the first byte
// takes longer than the backend timeout or a silence longer than its stream_idle_timeout.
func (b *Backend) openBody(ctx context.Context, path string, body []byte) (io.ReadCloser, error) {
	return b.openBodyWith(ctx, path, body, nil)
}

// openBodyWith is openBody with extra request headers (see send). Unsigned calls take the
// pooled fasthttp exchange (upstream_fast.go), signed ones net/http.
func (b *Backend) openBodyWith(ctx context.Context, path string, body []byte, extra [][2]string) (io.ReadCloser, error) {
	if b.usesFast() {
		c, err := b.fastStream(ctx, path, body, extra)
		if err != nil {
			return nil, err
		}
		if status := c.resp.StatusCode(); status >= 300 {
			ue := b.codec.decodeError(b.Name, status, c.errorBody(), c.headerGetter)
			c.Close()
			return nil, b.redactKeys(ue)
		}
		return c, nil
	}
	x, err := b.send(ctx, http.MethodPost, path, body, extra, true)
	if err != nil {
		return nil, err
	}
	if status := x.resp.StatusCode; status >= 300 {
		ue := b.codec.decodeError(b.Name, status, x.errorBody(), x.headerGetter)
		x.Close()
		return nil, b.redactKeys(ue)
	}
	return x, nil
}

// streamError gives a decoder's failure its class: what the transport and the provider said
// (timeouts, cancellation, resets, error events, truncation) passes as it is; anything else
// is a stream the decoder could not read (an event that is not JSON, an oversized event).
func streamError(err error) error {
	switch {
	case err == io.EOF:
		return err
	case err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: %w", llm.ErrStreamTruncated, err)
	case llm.Classify(err) == llm.FailureOther:
		return fmt.Errorf("%w: %w", ErrMalformedReply, err)
	}
	return err
}
