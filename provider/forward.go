package provider

import (
	"context"
	"io"
	"sync"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/valyala/bytebufferpool"
)

// Forwarding serves OpenAI Chat Completions bodies. An OpenAI-format backend gets the body
// as it came (only "model" is rewritten when routing changed it), so fields tracegate does not
// model still reach the provider; any other backend gets the body decoded into the canonical
// request and translated. Retries and fallbacks work as for Complete and Stream, and a fallback
// may cross formats.

// Forwarded is a non-streaming reply to a forwarded body.
type Forwarded struct {
	Target Target
	// Raw is the provider's reply body, in OpenAI format, when it was passed through.
	Raw []byte
	// Response is the decoded reply when the request was translated; for a passed-through
	// reply, only its model and usage are filled in.
	Response *llm.Response
}

// ForwardedStream is an open stream for a forwarded body: Raw (OpenAI SSE bytes) when passed
// through, else Events (canonical events to re-encode). Close it when done, and call Finish.
type ForwardedStream struct {
	Target Target
	Raw    io.ReadCloser
	Events *Stream
	finish func(*llm.Response, error)
}

// Finish records the stream's outcome on its attempt span. Call it once.
func (s *ForwardedStream) Finish(resp *llm.Response, err error) {
	if s.Events != nil {
		s.Events.Finish(resp, err)
		return
	}
	if s.finish != nil {
		s.finish(resp, err)
		s.finish = nil
	}
}

// Close releases the upstream connection, cancelling an unfinished stream.
func (s *ForwardedStream) Close() error {
	if s.Events != nil {
		return s.Events.Close()
	}
	return s.Raw.Close()
}

// RequestDecoder decodes the forwarded body into a canonical request, once, when a target
// needs translation.
type RequestDecoder func() (*llm.Request, error)

// OnceDecoder memoises decode so a chain of fallbacks decodes the body at most once.
func OnceDecoder(body []byte) RequestDecoder {
	return sync.OnceValues(func() (*llm.Request, error) { return openai.DecodeRequest(body) })
}

// Forward sends an OpenAI Chat Completions body for model.
func (d *Dispatcher) Forward(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*Forwarded, error) {
	var out *Forwarded
	err := d.each(ctx, model, false, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		if t.Backend.Kind != KindOpenAI {
			req, err := decode()
			if err != nil {
				end(nil, err)
				return err
			}
			resp, err := complete(ctx, t, req)
			end(resp, err)
			if err == nil {
				out = &Forwarded{Target: t, Response: resp}
			}
			return err
		}
		raw, err := forwardRaw(ctx, t, withTargetModel(body, model, t.Model))
		if err != nil {
			end(nil, err)
			return err
		}
		resp := scanReply(raw, t.Model)
		end(resp, nil)
		out = &Forwarded{Target: t, Raw: raw, Response: resp}
		return nil
	})
	return out, err
}

// ForwardStream opens a stream for an OpenAI Chat Completions body with "stream": true. The
// body should already ask for usage (stream_options.include_usage) so the cost is known.
func (d *Dispatcher) ForwardStream(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*ForwardedStream, error) {
	var out *ForwardedStream
	err := d.each(ctx, model, true, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		if t.Backend.Kind != KindOpenAI {
			req, err := decode()
			if err != nil {
				end(nil, err)
				return err
			}
			s, err := openStream(ctx, t, req)
			if err != nil {
				end(nil, err)
				return err
			}
			s.finish = end
			out = &ForwardedStream{Target: t, Events: s}
			return nil
		}
		if err := t.Backend.checkKey(); err != nil {
			end(nil, err)
			return err
		}
		rc, err := t.Backend.openBody(ctx, t.Backend.codec.path(t.Model, true), withTargetModel(body, model, t.Model))
		if err != nil {
			end(nil, err)
			return err
		}
		out = &ForwardedStream{Target: t, Raw: rc, finish: end}
		return nil
	})
	return out, err
}

// forwardRaw posts body to an OpenAI-format backend and returns a copy of the 2xx reply body,
// checked to be JSON.
func forwardRaw(ctx context.Context, t Target, body []byte) ([]byte, error) {
	b := t.Backend
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	reply := bytebufferpool.Get()
	defer bytebufferpool.Put(reply)
	if err := b.roundTrip(ctx, b.codec.path(t.Model, false), body, reply); err != nil {
		return nil, err
	}
	if err := validJSON(b.Name, reply.B); err != nil {
		return nil, err
	}
	return append([]byte(nil), reply.B...), nil
}

// withTargetModel rewrites the body's model, requested, when routing changed it
// ("openai/gpt-4o" is sent as "gpt-4o"; a fallback sends its own model). The body is not
// scanned again when it already names the target.
func withTargetModel(body []byte, requested, target string) []byte {
	if requested == target {
		return body
	}
	return openai.WithModel(nil, body, target)
}

// scanReply reads what spans and pricing need from a passed-through reply, without decoding
// the rest: usage and model.
func scanReply(raw []byte, requested string) *llm.Response {
	resp := &llm.Response{Model: openai.ScanModel(raw)}
	if resp.Model == "" {
		resp.Model = requested
	}
	resp.Usage, _ = openai.ScanUsage(raw)
	return resp
}
