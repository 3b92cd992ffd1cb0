// Command gen builds pricing/data.json, the price table compiled into tracegate, from
// LiteLLM's model_prices_and_context_window.json. It keeps only chat-capable and embedding
// entries that have a token price, and in them only the rate keys tracegate reads (plus litellm_provider
// and mode), so the output stays in the LiteLLM format that pricing.LoadFile also reads.
// Numbers are copied as written upstream, never re-formatted, so no rate changes in transit.
//
// Usage (from the pricing directory, see pricing/doc.go):
//
//	LITELLM_PRICES=/path/to/model_prices_and_context_window.json go generate .
package main
