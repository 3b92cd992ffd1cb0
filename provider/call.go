package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// defaultClient sends non-streaming calls; streams have their own (upstream_stream.go).
// fasthttp pools connections per host and keeps the request path allocation-light.
var defaultClient = &fasthttp.Client{
	Name:                   "tracegate",
	MaxConnsPerHost:        1024,
	MaxIdleConnDuration:    90 * time.Second,
	ReadBufferSize:         16 << 10,
	DisablePathNormalizing: true,
}

// complete sends one non-streaming request to target and decodes the reply.
func complete(ctx context.Context, t Target, req *llm.Request) (*llm.Response, error) {
	b := t.Backend
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	if b.Kind == KindMock {
		return mockComplete(ctx, t.Model, req)
	}
	if b.codec.keepsSignatures {
		req = signatures.restore(req)
	}
	sent := *req
	sent.Model = t.Model
	sent.Stream = false

	hreq := fasthttp.AcquireRequest()
	hresp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(hreq)
	defer fasthttp.ReleaseResponse(hresp)

	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	body, err := b.codec.encode(buf.B[:0], &sent)
	if err != nil {
		return nil, fmt.Errorf("encode request for %s: %w", b.Name, err)
	}
	buf.B = body
	hreq.SetBodyRaw(body)
	b.prepare(hreq, t.Model, false)

	if err := b.do(ctx, hreq, hresp); err != nil {
		return nil, err
	}
	status := hresp.StatusCode()
	if status >= 300 {
		ue := b.redactKeys(b.codec.decodeError(b.Name, status, hresp.Body(), func(k string) string { return string(hresp.Header.Peek(k)) }))
		if resp := b.refused(ue, t.Model); resp != nil {
			return resp, nil
		}
		return nil, ue
	}
	resp, err := b.codec.decode(hresp.Body())
	if err != nil {
		return nil, fmt.Errorf("decode %s reply: %w", b.Name, err)
	}
	if resp.Model == "" {
		resp.Model = t.Model
	}
	if b.codec.keepsSignatures {
		signatures.remember(resp.ToolCalls)
	}
	return resp, nil
}

// prepare sets the URL and headers of a request to this backend.
func (b *Backend) prepare(hreq *fasthttp.Request, model string, stream bool) {
	b.prepareAt(hreq, b.codec.path(model, stream))
}

// prepareAt is prepare for a request to path, below the base URL.
func (b *Backend) prepareAt(hreq *fasthttp.Request, path string) {
	hreq.SetRequestURI(b.BaseURL + path)
	b.prepareWith(&hreq.Header, nil)
}

// do sends hreq, bounded by the backend timeout and the context deadline. fasthttp has no
// context support, so cancellation is honoured through the deadline only.
func (b *Backend) do(ctx context.Context, hreq *fasthttp.Request, hresp *fasthttp.Response) error {
	deadline := time.Now().Add(b.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.authorize(ctx, hreq); err != nil {
		return err
	}
	err := defaultClient.DoDeadline(hreq, hresp, deadline)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s after %s: %w", b.Name, b.Timeout, ErrTimeout)
	default:
		return &ConnectionError{Provider: b.Name, Err: err}
	}
}
