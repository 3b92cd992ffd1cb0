// Command gen builds pricing/data.json, the price table compiled into tracegate, from
// LiteLLM's model_prices_and_context_window.json. It keeps only chat-capable entries that
// have a token price, and in them only the rate keys tracegate reads (plus litellm_provider
// and mode), so the output stays in the LiteLLM format that pricing.LoadFile also reads.
// Numbers are copied as written upstream, never re-formatted, so no rate changes in transit.
//
// Usage (from the pricing directory, see pricing/doc.go):
//
//	LITELLM_PRICES=/path/to/model_prices_and_context_window.json go generate .
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "", "upstream LiteLLM model_prices_and_context_window.json")
	out := flag.String("out", "data.json", "file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" {
		return fmt.Errorf("no input: pass -in (LITELLM_PRICES for go generate) naming the upstream file")
	}
	upstream, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read upstream: %w", err)
	}
	data, kept, err := filter(upstream)
	if err != nil {
		return fmt.Errorf("filter %s: %w", in, err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d models, %d bytes to %s\n", kept, len(data), out)
	return nil
}
