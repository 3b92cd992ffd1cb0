// Package bedrock translates between the canonical llm types and the AWS Bedrock Converse API
// wire format: the Converse request body (EncodeRequest), the Converse reply (DecodeResponse),
// the error envelope (DecodeError), and the ConverseStream reply, which is not SSE but binary
// application/vnd.amazon.eventstream frames (FrameReader decodes and CRC-checks them,
// StreamDecoder turns their events into canonical ones).
//
// Usage follows Anthropic's convention: with prompt caching inputTokens is only the uncached
// remainder, so the canonical input is inputTokens + cacheReadInputTokens +
// cacheWriteInputTokens. Some model families report inputTokens with the cache included; the
// decoder tells the two apart by totalTokens.
//
// Structured output uses Converse's outputConfig.textFormat where Bedrock supports it
// (NativeStructuredOutput: Claude 4.5 and later, some open-weight families); other models get
// a forced call of a synthetic tool (JSONToolName) whose input the decoders return as the
// reply text. Reasoning requests become Claude's thinking budget or Nova 2's reasoningConfig in
// additionalModelRequestFields; reasoning blocks are decoded and replayed.
//
// It does no network I/O: the provider package signs (SigV4) and sends the bytes.
package bedrock
