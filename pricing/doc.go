// Package pricing owns what a run costs: the price table (LiteLLM's community price map,
// trimmed to chat and embedding models and compiled in, replaceable by a file and patched by config
// overrides), the matching of a provider's model name to a table entry, and the arithmetic
// from canonical llm.Usage to USD.
//
// Cost is exact to the table: each token class is billed at its own rate, a long-context
// tier re-prices the whole request once the prompt is strictly above its threshold, and
// nothing is rounded. A model that matches no entry is unpriced (ok=false), never free.
//
// The embedded data.json is generated, not edited. To refresh it from a newer upstream file
// (https://github.com/BerriAI/litellm, model_prices_and_context_window.json):
//
//	LITELLM_PRICES=/path/to/model_prices_and_context_window.json go generate ./pricing
//
// then run this package's tests: the golden cases pin prices that upstream may have changed
// on purpose, so a failure there asks for a look, not a blind update. The data is MIT
// licensed by Berri AI; NOTICE.md must travel with it.
package pricing
