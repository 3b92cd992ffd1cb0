package provider

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/valyala/bytebufferpool"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/openai"
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
	// Headers are the provider's reply headers the caller should see (request id, rate
	// limits; see keptReplyHeaders), for a passed-through reply.
	Headers []ReplyHeader

	reply *bytebufferpool.ByteBuffer // Raw's pooled storage, for a passed-through reply
	resp  llm.Response               // Response's storage, for a passed-through reply
}

// forwardedReplies pools passed-through replies (see Release): the hot path of the
// passthrough neither copies the reply body nor allocates its Forwarded.
var forwardedReplies = sync.Pool{New: func() any { return new(Forwarded) }}

// Release hands a passed-through reply's storage back for reuse, once Raw has been written
// and Response read (priced, ended on the spans, logged): neither may be used afterwards, nor
// anything that points into them. Releasing is optional (an unreleased reply is garbage
// collected) and a no-op for a translated reply.
func (f *Forwarded) Release() {
	if f == nil || f.reply == nil {
		return
	}
	bytebufferpool.Put(f.reply)
	*f = Forwarded{}
	forwardedReplies.Put(f)
}

// ForwardedStream is an open stream for a forwarded body: Raw (OpenAI SSE bytes) when passed
// through, else Events (canonical events to re-encode). Close it when done, and call Finish.
type ForwardedStream struct {
	Target Target
	Raw    io.ReadCloser
	Events *Stream
	// Headers are the kept reply headers of a passed-through stream (see Forwarded.Headers).
	Headers []ReplyHeader
	finish  func(*llm.Response, error)
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
	return new(OnceRequest).Decoder(body)
}

// OnceRequest is OnceDecoder's state, reusable: a caller that keeps one per pooled request
// gets its decoder without allocating. Safe for concurrent use.
type OnceRequest struct {
	mu      sync.Mutex
	body    []byte
	parse   func([]byte) (*llm.Request, error)
	decoded bool
	req     *llm.Request
	err     error
	fn      RequestDecoder
}

// Decoder returns a decoder of body (OpenAI Chat Completions) that decodes it at most once.
// It replaces what o decoded before: a decoder o returned earlier then decodes body too.
func (o *OnceRequest) Decoder(body []byte) RequestDecoder {
	return o.DecoderFor(body, openai.DecodeRequest)
}

// DecoderFor is Decoder for a body of another wire format, which parse decodes.
func (o *OnceRequest) DecoderFor(body []byte, parse func([]byte) (*llm.Request, error)) RequestDecoder {
	o.mu.Lock()
	o.body, o.parse, o.decoded, o.req, o.err = body, parse, false, nil, nil
	if o.fn == nil {
		o.fn = o.decode
	}
	fn := o.fn
	o.mu.Unlock()
	return fn
}

func (o *OnceRequest) decode() (*llm.Request, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.decoded {
		o.req, o.err = o.parse(o.body)
		o.decoded = true
	}
	return o.req, o.err
}

// Forward sends an OpenAI Chat Completions body for model.
func (d *Dispatcher) Forward(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*Forwarded, error) {
	return d.forward(ctx, chatPassthrough, model, body, decode, observe)
}

// ForwardStream opens a stream for an OpenAI Chat Completions body with "stream": true. The
// body should already ask for usage (stream_options.include_usage) so the cost is known.
func (d *Dispatcher) ForwardStream(ctx context.Context, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*ForwardedStream, error) {
	return d.forwardStream(ctx, chatPassthrough, model, body, decode, observe)
}

// passthrough is an inbound wire format that some backends take as it is: which ones, where
// it goes, and how a passed-through reply is read for spans and pricing.
type passthrough struct {
	accepts func(*Backend) bool
	// path is where a passed-through body goes, below the target's base URL.
	path func(t Target, stream bool) string
	// scan checks that a 2xx reply is JSON and reads it into dst; the error says why it is not.
	scan func(dst *llm.Response, raw []byte, requested string) error
}

var chatPassthrough = &passthrough{
	accepts: (*Backend).speaksOpenAI,
	path:    func(t Target, stream bool) string { return t.Backend.codec.path(t.Model, stream) },
	scan:    scanReply,
}

// forward sends body to each target in turn (retries, fallbacks): as it is where the target
// accepts the format, else decoded and translated.
func (d *Dispatcher) forward(ctx context.Context, w *passthrough, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*Forwarded, error) {
	var out *Forwarded
	err := d.each(ctx, model, false, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		if !w.accepts(t.Backend) {
			var err error
			out, err = completeTranslated(ctx, t, decode, end)
			return err
		}
		f := forwardedReplies.Get().(*Forwarded)
		f.reply = bytebufferpool.Get()
		// Not postPooled: the scan checks the reply while it reads it.
		headers, err := t.Backend.roundTripWith(ctx, w.path(t, false), withTargetModel(body, model, t.Backend.wireModel(t.Model)), nil, f.reply)
		if err == nil {
			if err = w.scan(&f.resp, f.reply.B, t.Model); err != nil {
				err = fmt.Errorf("%s reply: %w: %w", t.Backend.Name, ErrMalformedReply, err)
			}
		}
		if err != nil {
			f.Release()
			end(nil, err)
			return err
		}
		f.Target, f.Raw, f.Headers = t, f.reply.B, headers
		f.Response = &f.resp
		end(f.Response, nil)
		out = f
		return nil
	})
	return out, err
}

// forwardStream is forward for a streaming body.
func (d *Dispatcher) forwardStream(ctx context.Context, w *passthrough, model string, body []byte, decode RequestDecoder, observe AttemptObserver) (*ForwardedStream, error) {
	var out *ForwardedStream
	err := d.each(ctx, model, true, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		if !w.accepts(t.Backend) {
			var err error
			out, err = streamTranslated(ctx, t, decode, end)
			return err
		}
		if err := t.Backend.checkKey(); err != nil {
			end(nil, err)
			return err
		}
		rc, err := t.Backend.openBody(ctx, w.path(t, true), withTargetModel(body, model, t.Backend.wireModel(t.Model)))
		if err != nil {
			end(nil, err)
			return err
		}
		out = &ForwardedStream{Target: t, Raw: rc, Headers: streamReplyHeaders(rc), finish: end}
		return nil
	})
	return out, err
}

// completeTranslated decodes a forwarded body and completes it on a target of another wire
// format, ending the attempt with the outcome.
func completeTranslated(ctx context.Context, t Target, decode RequestDecoder, end func(*llm.Response, error)) (*Forwarded, error) {
	req, err := decode()
	if err != nil {
		end(nil, err)
		return nil, err
	}
	resp, err := complete(ctx, t, req)
	end(resp, err)
	if err != nil {
		return nil, err
	}
	return &Forwarded{Target: t, Response: resp}, nil
}

// streamTranslated decodes a forwarded body and opens a stream of canonical events for it on
// a target of another wire format; the stream's Finish ends the attempt.
func streamTranslated(ctx context.Context, t Target, decode RequestDecoder, end func(*llm.Response, error)) (*ForwardedStream, error) {
	req, err := decode()
	if err != nil {
		end(nil, err)
		return nil, err
	}
	s, err := openStream(ctx, t, req)
	if err != nil {
		end(nil, err)
		return nil, err
	}
	s.finish = end
	return &ForwardedStream{Target: t, Events: s}, nil
}

// forwardRaw posts body to path of an OpenAI-format backend and returns a copy of the 2xx
// reply body, checked to be JSON, and the reply headers worth passing on.
func forwardRaw(ctx context.Context, t Target, path string, body []byte) ([]byte, []ReplyHeader, error) {
	return postRaw(ctx, t.Backend, path, body, nil)
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

// scanReply checks a passed-through reply and reads what spans and pricing need from it,
// without decoding the rest: usage and model.
func scanReply(dst *llm.Response, raw []byte, requested string) error {
	*dst = llm.Response{}
	var err error
	if dst.Model, dst.Usage, _, err = openai.ScanReply(raw); err != nil {
		return err
	}
	if dst.Model == "" {
		dst.Model = requested
	}
	return nil
}
