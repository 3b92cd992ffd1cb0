package main

import (
	"encoding/json"
	"os"
)

// state is what "traffic" learned from tracegate's replies and "verify" expects in Jaeger.
type state struct {
	Service  string    `json:"service"`
	Model    string    `json:"model"`
	PriceIn  float64   `json:"priceIn"`  // USD per input token for Model (the config's override)
	PriceOut float64   `json:"priceOut"` // USD per output token
	Runs     []runSpan `json:"runs"`
	// Ingested are the spans posted to the spans API, each under one of Runs.
	Ingested []ingestedSpan `json:"ingested,omitempty"`
}

// runSpan is one expected run span (SERVER) with its single attempt span (CLIENT).
type runSpan struct {
	Label   string `json:"label"`
	Name    string `json:"name"` // span name: "run {slug}" or "chat {model}"
	Slug    string `json:"slug,omitempty"`
	Version int    `json:"version,omitempty"`
	TraceID string `json:"traceId"` // 32 hex
	// ShortTraceID is the 16-hex form when the reply gave a 64-bit tr_ id.
	ShortTraceID string `json:"shortTraceId,omitempty"`
	SpanID       string `json:"spanId"`                 // 16 hex
	ParentSpanID string `json:"parentSpanId,omitempty"` // 16 hex; empty for a root
	// Usage and cost as the reply reported them; Known is false for a stream whose client
	// did not ask for usage (the span must still carry it).
	UsageKnown   bool     `json:"usageKnown"`
	InputTokens  int64    `json:"inputTokens"`
	OutputTokens int64    `json:"outputTokens"`
	Cost         float64  `json:"cost"`
	CostKnown    bool     `json:"costKnown"`
	FinishReason string   `json:"finishReason"` // gen_ai.response.finish_reasons expected on the spans
	Stream       bool     `json:"stream"`
	UserID       string   `json:"userId,omitempty"`
	SessionID    string   `json:"sessionId,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Variables    []string `json:"variables,omitempty"` // variable names, sorted
}

func (s *state) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
