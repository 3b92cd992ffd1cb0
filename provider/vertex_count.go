package provider

import (
	"context"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/gemini"
)

// Token counting on Vertex AI, for POST /v1/messages/count_tokens:
//
//   - Claude: POST {prefix}anthropic/models/count-tokens:rawPredict takes Anthropic's
//     count_tokens body as it is, the model in the body, and answers as Anthropic does, so
//     the body is passed through and the reply back;
//   - Gemini: POST {prefix}google/models/{model}:countTokens takes the contents, system
//     instruction and tools of a generateContent body at the top level (Vertex has no
//     generateContentRequest member, and rejects toolConfig), and answers {"totalTokens": n}.

// tokenCounter counts the input tokens of a Messages body on target t, for backends whose
// counting endpoint is their own (Vertex's).
type tokenCounter func(ctx context.Context, t Target, body []byte, requested string, h MessagesHeaders, decode RequestDecoder) (*TokenCount, error)

func vertexClaudeCounter(prefix string) tokenCounter {
	path := prefix + "anthropic/models/count-tokens:rawPredict"
	return func(ctx context.Context, t Target, body []byte, requested string, h MessagesHeaders, _ RequestDecoder) (*TokenCount, error) {
		var beta [][2]string // the API version goes in the body on Vertex, never as a header
		if h.Beta != "" {
			beta = [][2]string{{"anthropic-beta", h.Beta}}
		}
		raw, _, err := postRaw(ctx, t.Backend, path, withTargetModel(body, requested, t.Model), beta)
		if err != nil {
			return nil, err
		}
		return &TokenCount{Target: t, Raw: raw}, nil
	}
}

func vertexGeminiCounter(prefix string) tokenCounter {
	return func(ctx context.Context, t Target, _ []byte, _ string, _ MessagesHeaders, decode RequestDecoder) (*TokenCount, error) {
		req, err := decode()
		if err != nil {
			return nil, err
		}
		sent := llm.Request{Model: t.Model, Messages: req.Messages, Tools: req.Tools}
		enc, err := gemini.EncodeRequest(nil, &sent)
		if err != nil {
			return nil, fmt.Errorf("encode count tokens for %s: %w: %w", t.Backend.Name, err, llm.ErrInvalidRequest)
		}
		raw, _, err := postRaw(ctx, t.Backend, prefix+"google/models/"+vertexSegment(t.Model)+":countTokens", enc, nil)
		if err != nil {
			return nil, err
		}
		n, err := gemini.DecodeCountTokens(raw)
		if err != nil {
			return nil, fmt.Errorf("decode %s count tokens reply: %w: %w", t.Backend.Name, ErrMalformedReply, err)
		}
		return &TokenCount{Target: t, InputTokens: n}, nil
	}
}
