// Package gemini translates between the canonical llm types and Google's Gemini
// generateContent wire format (Generative Language API v1beta, API-key auth).
//
// It owns the request encoder (EncodeRequest), the unary reply decoder (DecodeResponse), the
// google.rpc error decoder (DecodeError), the alt=sse stream decoder (StreamDecoder), and the URL
// paths the provider package posts to (GeneratePath, StreamPath). It does no network I/O: the
// provider package sends the body with the `x-goog-api-key` header.
//
// # Tool call ids
//
// Gemini function calls normally carry no id, but OpenAI-shaped callers need one to answer a
// call. The decoders mint ids of the form
//
//	call_gm_<responseId>_<n>
//
// where n counts the reply's function calls from 0. When the reply has no responseId, the
// FNV-1a hash of the reply body (for a stream: of the chunk holding its first call) stands in
// for it, so the same bytes always yield the same ids. Ids that Gemini itself sent are kept
// as they are.
//
// EncodeRequest echoes a call id as functionCall.id / functionResponse.id only when it may
// have come from Gemini: minted ids (MintedIDPrefix) are never sent, since Gemini rejects
// ids it did not issue, and neither are ids in OpenAI ("call_") or Anthropic ("toolu_") form,
// which appear when a conversation moves between providers. Without an id Gemini matches a
// functionResponse to its call by name, as in the recorded conversations.
//
// # Streams
//
// Gemini streams whole GenerateContentResponse objects as SSE data lines (CRLF or LF framed)
// and ends by closing the connection: there is no [DONE]. Each chunk carries usageMetadata,
// and only the last is authoritative, so every chunk yields an EventUsage that replaces the
// previous one.
package gemini
