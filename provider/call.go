package provider

import (
	"context"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fastjson"
)

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

	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	body, err := b.codec.encode(buf.B[:0], &sent)
	if err != nil {
		return nil, fmt.Errorf("encode request for %s: %w", b.Name, err)
	}
	buf.B = body
	reply := bytebufferpool.Get()
	defer bytebufferpool.Put(reply)
	if err := b.roundTrip(ctx, b.codec.path(t.Model, false), body, reply); err != nil {
		return nil, err
	}
	resp, err := b.codec.decode(reply.B)
	if err != nil {
		return nil, fmt.Errorf("decode %s reply: %w: %w", b.Name, ErrMalformedReply, err)
	}
	if resp.Model == "" {
		resp.Model = t.Model
	}
	if b.codec.keepsSignatures {
		signatures.remember(resp.ToolCalls)
	}
	return resp, nil
}

// roundTrip posts a non-streaming body to path (under the backend's base URL) and reads the
// 2xx reply into reply, bounded by max_response_bytes; an error status is decoded into an
// *llm.UpstreamError. Every non-streaming call goes through it, whatever its endpoint.
func (b *Backend) roundTrip(ctx context.Context, path string, body []byte, reply *bytebufferpool.ByteBuffer) error {
	x, err := b.post(ctx, path, body, false)
	if err != nil {
		return err
	}
	defer x.Close()
	if status := x.resp.StatusCode; status >= 300 {
		return b.redactKeys(b.codec.decodeError(b.Name, status, x.errorBody(), x.headerGetter))
	}
	return x.readAll(reply, b.MaxResponseBytes)
}

// validJSON checks a reply passed through undecoded, without copying it: a 2xx that is not
// JSON (a proxy's HTML page, a truncated body) is the provider's failure, not a success.
func validJSON(name string, raw []byte) error {
	if err := fastjson.ValidateBytes(raw); err != nil {
		return fmt.Errorf("%s reply: %w: %w", name, ErrMalformedReply, err)
	}
	return nil
}
