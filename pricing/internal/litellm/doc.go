// Package litellm owns the parts of LiteLLM's price-map schema that tracegate reads: which
// keys hold per-token rates (and at which long-context threshold), and which modes are chat
// models. The pricing loader and the data generator share it so they cannot drift apart.
package litellm
