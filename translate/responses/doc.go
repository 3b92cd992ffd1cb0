// Package responses is the OpenAI Responses API wire format (POST /v1/responses) as tracegate
// serves it to clients such as Codex CLI and the OpenAI Agents SDK: it decodes a Responses
// request into the canonical llm.Request for targets that do not speak it, encodes a canonical
// reply as a Response object, encodes a canonical stream as the API's named, numbered SSE
// events, and scans passed-through replies and streams for what spans and pricing need
// (usage, model, id) without decoding them. It does no I/O.
package responses
