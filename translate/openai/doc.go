// Package openai translates the OpenAI Chat Completions wire format to and from the canonical
// llm types, in both directions and for both roles tracegate plays:
//
//   - as a client of an OpenAI-compatible upstream: EncodeRequest, DecodeResponse, DecodeError
//     and StreamDecoder;
//   - as the OpenAI-compatible server for clients whose target speaks another format:
//     DecodeRequestOptions, EncodeResponse, ChunkEncoder and EncodeStreamError;
//   - on the passthrough path, where bodies go through untouched: ScanRequest, WithModel,
//     WithIncludeUsage, ScanUsage, ScanChunk, ScanModel and ScanStreamError read or splice
//     only the few fields the gateway needs instead of decoding and re-encoding the body.
//
// Parsing uses pooled fastjson parsers and encoding appends to caller-owned buffers, so the hot
// paths do no reflection. The package does no I/O beyond reading the stream it is handed.
package openai
