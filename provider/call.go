package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	sent := req
	if req.Model != t.Model || req.Stream {
		named := *req
		named.Model, named.Stream = t.Model, false
		sent = &named
	}

	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	body, err := b.codec.encode(buf.B[:0], sent)
	if err != nil {
		return nil, fmt.Errorf("encode request for %s: %w", b.Name, err)
	}
	buf.B = body
	reply := bytebufferpool.Get()
	defer bytebufferpool.Put(reply)
	if err := b.roundTrip(ctx, b.codec.path(t.Model, false), body, reply); err != nil {
		var ue *llm.UpstreamError
		if errors.As(err, &ue) {
			if resp := b.refused(ue, t.Model); resp != nil {
				return resp, nil
			}
		}
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
	_, err := b.post(ctx, path, body, nil, reply, false)
	return err
}

// roundTripWith is roundTrip with extra request headers (see send); it returns the reply's
// headers, for the ones a passed-through reply keeps.
func (b *Backend) roundTripWith(ctx context.Context, path string, body []byte, extra [][2]string, reply *bytebufferpool.ByteBuffer) ([]ReplyHeader, error) {
	return b.post(ctx, path, body, extra, reply, true)
}

// post is roundTrip and roundTripWith: keepHeaders says whether the caller passes reply
// headers on, so a translated call does not collect them only to drop them.
func (b *Backend) post(ctx context.Context, path string, body []byte, extra [][2]string, reply *bytebufferpool.ByteBuffer, keepHeaders bool) ([]ReplyHeader, error) {
	if b.usesFast() {
		return b.fastRoundTrip(ctx, http.MethodPost, path, body, extra, reply, keepHeaders)
	}
	x, err := b.send(ctx, http.MethodPost, path, body, extra, false)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	if status := x.resp.StatusCode; status >= 300 {
		return nil, b.redactKeys(b.codec.decodeError(b.Name, status, x.errorBody(), x.headerGetter))
	}
	if err := x.readAll(reply, b.MaxResponseBytes); err != nil {
		return nil, err
	}
	if !keepHeaders {
		return nil, nil
	}
	return keptReplyHeaders(x.resp.Header), nil
}

// postRaw posts body to path of backend b through roundTripWith and returns a copy of the
// 2xx reply body, checked to be JSON, with the reply headers worth passing on.
func postRaw(ctx context.Context, b *Backend, path string, body []byte, extra [][2]string) ([]byte, []ReplyHeader, error) {
	reply := bytebufferpool.Get()
	defer bytebufferpool.Put(reply)
	h, err := postPooled(ctx, b, path, body, reply, extra...)
	if err != nil {
		return nil, nil, err
	}
	return append([]byte(nil), reply.B...), h, nil
}

// postPooled is postRaw into reply, which the caller owns: no copy of the reply.
func postPooled(ctx context.Context, b *Backend, path string, body []byte, reply *bytebufferpool.ByteBuffer, extra ...[2]string) ([]ReplyHeader, error) {
	h, err := b.roundTripWith(ctx, path, body, extra, reply)
	if err != nil {
		return nil, err
	}
	if err := validJSON(b.Name, reply.B); err != nil {
		return nil, err
	}
	return h, nil
}

// validJSON checks a reply passed through undecoded, without copying it: a 2xx that is not
// JSON (a proxy's HTML page, a truncated body) is the provider's failure, not a success.
func validJSON(name string, raw []byte) error {
	if err := fastjson.ValidateBytes(raw); err != nil {
		return fmt.Errorf("%s reply: %w: %w", name, ErrMalformedReply, err)
	}
	return nil
}
