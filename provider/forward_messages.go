package provider

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/tracegate/tracegate/translate/gemini"
	"github.com/valyala/bytebufferpool"
)

// Forwarding of Anthropic Messages bodies (POST /v1/messages). An Anthropic backend gets the
// body as it came (only "model" rewritten when routing changed it) with the caller's
// anthropic-version and anthropic-beta headers, Claude on Vertex AI the body with
// anthropic_version in place of model (messages_route.go); any other backend gets the body
// decoded into the canonical request and translated. Retries and fallbacks are the
// dispatcher's own.

// MessagesHeaders are the caller's Anthropic headers, forwarded to Anthropic backends.
type MessagesHeaders struct {
	Version string // anthropic-version; the codec's default when empty
	Beta    string // anthropic-beta, comma-separated; not sent when empty
}

func (h MessagesHeaders) extra() [][2]string {
	var out [][2]string
	if h.Version != "" {
		out = append(out, [2]string{"anthropic-version", h.Version})
	}
	if h.Beta != "" {
		out = append(out, [2]string{"anthropic-beta", h.Beta})
	}
	return out
}

// countTokensPath is Anthropic's token counting endpoint.
const countTokensPath = "/v1/messages/count_tokens"

// OnceMessagesDecoder memoises decoding a Messages body, so a chain of fallbacks decodes it at
// most once. forCount marks a count_tokens body, which has no max_tokens.
func OnceMessagesDecoder(body []byte, forCount bool) RequestDecoder {
	return sync.OnceValues(func() (*llm.Request, error) { return anthropic.DecodeMessagesRequest(body, forCount) })
}

// ForwardMessages sends a Messages body for model.
func (d *Dispatcher) ForwardMessages(ctx context.Context, model string, body []byte, h MessagesHeaders, decode RequestDecoder, observe AttemptObserver) (*Forwarded, error) {
	var out *Forwarded
	err := d.each(ctx, model, false, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		route := t.Backend.messages()
		if route == nil {
			var err error
			out, err = completeTranslated(ctx, t, decode, end)
			return err
		}
		sent, err := route.body(body, model, t.Model)
		if err != nil {
			end(nil, err)
			return err
		}
		// As Forward does: the reply is read into pooled storage that Release returns.
		f := forwardedReplies.Get().(*Forwarded)
		f.reply = bytebufferpool.Get()
		headers, err := postPooled(ctx, t.Backend, route.path(t.Model, false), sent, f.reply, route.headers(h)...)
		if err != nil {
			f.Release()
			end(nil, err)
			return err
		}
		if !anthropic.ScanReply(&f.resp, f.reply.B) {
			f.Release()
			err := &llm.UpstreamError{Provider: t.Backend.Name, Status: http.StatusOK, Type: "api_error", Message: "reply is not a JSON object"}
			end(nil, err)
			return err
		}
		if f.resp.Model == "" {
			f.resp.Model = t.Model
		}
		f.Target, f.Raw, f.Headers, f.Response = t, f.reply.B, headers, &f.resp
		end(f.Response, nil)
		out = f
		return nil
	})
	return out, err
}

// ForwardMessagesStream opens a stream for a Messages body with "stream": true: Raw is the
// Anthropic SSE stream for Anthropic backends, Events the canonical events otherwise.
func (d *Dispatcher) ForwardMessagesStream(ctx context.Context, model string, body []byte, h MessagesHeaders, decode RequestDecoder, observe AttemptObserver) (*ForwardedStream, error) {
	var out *ForwardedStream
	err := d.each(ctx, model, true, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		route := t.Backend.messages()
		if route == nil {
			var err error
			out, err = streamTranslated(ctx, t, decode, end)
			return err
		}
		sent, err := route.body(body, model, t.Model)
		if err != nil {
			end(nil, err)
			return err
		}
		rc, err := t.Backend.openBodyWith(ctx, route.path(t.Model, true), sent, route.headers(h))
		if err != nil {
			end(nil, err)
			return err
		}
		out = &ForwardedStream{Target: t, Raw: rc, Headers: streamReplyHeaders(rc), finish: end}
		return nil
	})
	return out, err
}

// ErrNoTokenCounting is returned by CountMessageTokens for a provider format without a token
// counting endpoint. It wraps llm.ErrInvalidRequest: no fallback would count differently.
var ErrNoTokenCounting = fmt.Errorf("%w: the provider has no token counting endpoint", llm.ErrInvalidRequest)

// TokenCount is the outcome of CountMessageTokens: Raw is Anthropic's reply, passed through;
// otherwise InputTokens is the target's count.
type TokenCount struct {
	Target      Target
	Raw         []byte
	InputTokens int64
}

// CountMessageTokens counts the input tokens of a Messages body (POST
// /v1/messages/count_tokens): passed through to Anthropic, translated to Gemini's
// countTokens, ErrNoTokenCounting for other formats.
func (d *Dispatcher) CountMessageTokens(ctx context.Context, model string, body []byte, h MessagesHeaders, decode RequestDecoder) (*TokenCount, error) {
	var out *TokenCount
	err := d.each(ctx, model, false, nil, func(ctx context.Context, t Target, _ func(*llm.Response, error)) error {
		switch t.Backend.Kind {
		case KindAnthropic:
			raw, _, err := postRaw(ctx, t.Backend, countTokensPath, withTargetModel(body, model, t.Model), h.extra())
			if err != nil {
				return err
			}
			out = &TokenCount{Target: t, Raw: raw}
			return nil
		case KindGemini:
			req, err := decode()
			if err != nil {
				return err
			}
			sent := *req
			sent.Model = t.Model
			enc, err := gemini.EncodeCountTokens(nil, &sent)
			if err != nil {
				return fmt.Errorf("encode count_tokens for %s: %w", t.Backend.Name, err)
			}
			raw, _, err := postRaw(ctx, t.Backend, gemini.CountTokensPath(t.Model), enc, nil)
			if err != nil {
				return err
			}
			n, err := gemini.DecodeCountTokens(raw)
			if err != nil {
				return fmt.Errorf("decode %s count_tokens reply: %w: %w", t.Backend.Name, ErrMalformedReply, err)
			}
			out = &TokenCount{Target: t, InputTokens: n}
			return nil
		}
		if t.Backend.countTokens != nil {
			var err error
			out, err = t.Backend.countTokens(ctx, t, body, model, h, decode)
			return err
		}
		return fmt.Errorf("count tokens with %s (%s): %w", t.Backend.Name, t.Backend.Kind, ErrNoTokenCounting)
	})
	return out, err
}
