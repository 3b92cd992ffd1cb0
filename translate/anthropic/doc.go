// Package anthropic translates between tracegate's canonical llm types and the Anthropic
// Messages API wire format: it encodes an llm.Request as a /v1/messages body, and decodes
// complete replies, error envelopes and SSE streams back into llm.Response, llm.UpstreamError
// and llm.StreamEvent values.
//
// It owns the Anthropic-specific rules the other formats do not share: instructions hoisted to
// the top-level system field, tool results folded into one user turn that must answer the
// immediately preceding assistant turn, a mandatory max_tokens, temperature capped at 1,
// usage whose input count excludes cache traffic, cumulative stream usage, and the optional
// forced-tool fallback for JSON output. It does no network I/O: the provider package sends the
// bytes and sets the x-api-key and anthropic-version headers.
//
// The inbound_*.go files serve the other direction, a caller speaking the Messages API to
// tracegate (POST /v1/messages): DecodeMessagesRequest turns its body into a canonical
// request, EncodeMessage and MessageStreamEncoder turn a canonical reply or stream into a
// Messages reply or event sequence, and ScanReply and StreamScanner read usage from a
// passed-through reply or stream without decoding its content. Both directions live here
// because they are one wire format and share its usage, stop-reason and error rules.
package anthropic
