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
