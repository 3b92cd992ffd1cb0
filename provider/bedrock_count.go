package provider

import (
	"context"
	"fmt"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/bedrock"
)

// bedrockCounter counts Messages tokens with Bedrock's CountTokens API
// (POST /model/{modelId}/count-tokens, signed like every other call; translate/bedrock).
func bedrockCounter(opts bedrock.EncodeOptions) tokenCounter {
	return func(ctx context.Context, t Target, _ []byte, _ string, _ MessagesHeaders, decode RequestDecoder) (*TokenCount, error) {
		req, err := decode()
		if err != nil {
			return nil, err
		}
		sent := llm.Request{Model: t.Model, Messages: req.Messages, Tools: req.Tools, ToolChoice: req.ToolChoice}
		enc, err := bedrock.EncodeCountTokens(nil, &sent, opts)
		if err != nil {
			return nil, fmt.Errorf("count tokens for %s: %w", t.Backend.Name, err)
		}
		raw, _, err := postRaw(ctx, t.Backend, "/model/"+escapeLabel(t.Model)+"/count-tokens", enc, nil)
		if err != nil {
			return nil, err
		}
		n, err := bedrock.DecodeCountTokens(raw)
		if err != nil {
			return nil, fmt.Errorf("decode %s count tokens reply: %w: %w", t.Backend.Name, ErrMalformedReply, err)
		}
		return &TokenCount{Target: t, InputTokens: n}, nil
	}
}
