package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// chatBody is a small OpenAI chat request: the size of a typical short prompt, so the numbers
// measure the gateway rather than JSON volume.
func chatBody(model string, stream bool) []byte {
	req := map[string]any{
		"model": model,
		"messages": []map[string]string{
			{"role": "system", "content": "You are a load test. Answer briefly."},
			{"role": "user", "content": "Say hello in five words."},
		},
		"max_tokens": 32,
	}
	if stream {
		req["stream"] = true
		req["stream_options"] = map[string]bool{"include_usage": true}
	}
	b, _ := json.Marshal(req) // cannot fail: only strings, numbers and bools
	return b
}

// runBody is a tracegate run API body: {"variables":{...}} from "k=v,k=v".
func runBody(vars string) ([]byte, error) {
	variables := map[string]string{}
	for _, pair := range strings.Split(vars, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("variable %q: want name=value", pair)
		}
		variables[strings.TrimSpace(k)] = v
	}
	b, err := json.Marshal(map[string]any{"variables": variables})
	if err != nil {
		return nil, fmt.Errorf("encode run body: %w", err)
	}
	return b, nil
}

// requestBody picks the body the flags ask for: a file, a run API body, or a chat request.
func requestBody(r requestOptions, stream bool) ([]byte, error) {
	switch {
	case r.bodyFile != "":
		b, err := os.ReadFile(r.bodyFile)
		if err != nil {
			return nil, fmt.Errorf("read -body: %w", err)
		}
		return b, nil
	case r.runAPI:
		return runBody(r.vars)
	default:
		return chatBody(r.model, stream), nil
	}
}
