package provider

import (
	"context"
	"io"
	"net/http"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/tracegate/tracegate/translate/anthropic"
	"github.com/tracegate/tracegate/translate/gemini"
	"github.com/tracegate/tracegate/translate/openai"
)

// streamDecoder yields canonical events from a provider stream; io.EOF after the last one.
type streamDecoder interface {
	Next() (llm.StreamEvent, error)
}

// codec is what differs between wire formats: where to send, how to authenticate, how to
// encode and decode.
type codec struct {
	path          func(model string, stream bool) string
	auth          func(set func(k, v string), key string)
	encode        func(dst []byte, req *llm.Request) ([]byte, error)
	decode        func(body []byte) (*llm.Response, error)
	decodeError   func(provider string, status int, body []byte, h translate.HeaderGetter) *llm.UpstreamError
	streamDecoder func(r io.Reader) streamDecoder
	// keepsSignatures marks formats whose tool calls carry state that must be replayed.
	keepsSignatures bool
	// authorize, when set, authenticates a request whose URL, headers and body are final, just
	// before it is sent: SigV4 signs all three, token sources may fetch. It runs after auth.
	// The request's header is the call's own copy; body is what will be sent.
	authorize func(ctx context.Context, req *http.Request, body []byte) error
	// openAIWire marks backends that take OpenAI Chat Completions bodies as they are (chat
	// passthrough); wireModel, when set, is the model name such a body must carry.
	openAIWire bool
	wireModel  func(model string) string
	// refusal, when set, turns an error reply that is really a refusal (Azure's content
	// filter) into a reply with finish reason content_filter; nil when it is a plain error.
	refusal func(ue *llm.UpstreamError) *llm.Response
}

var codecs = map[string]*codec{
	KindOpenAI: {
		path:   func(string, bool) string { return "/chat/completions" },
		auth:   func(set func(k, v string), key string) { set("Authorization", "Bearer "+key) },
		encode: openai.EncodeRequest, decode: openai.DecodeResponse, decodeError: openai.DecodeError,
		streamDecoder: func(r io.Reader) streamDecoder { return openai.NewStreamDecoder(r) },
		openAIWire:    true,
	},
	KindAnthropic: {
		path: func(string, bool) string { return "/v1/messages" },
		auth: func(set func(k, v string), key string) {
			set("x-api-key", key)
			set("anthropic-version", "2023-06-01")
		},
		encode: anthropic.EncodeRequest, decode: anthropic.DecodeResponse, decodeError: anthropic.DecodeError,
		streamDecoder: func(r io.Reader) streamDecoder { return anthropic.NewStreamDecoder(r) },
	},
	KindGemini: {
		path:            geminiPath,
		keepsSignatures: true,
		auth:            func(set func(k, v string), key string) { set("x-goog-api-key", key) },
		encode:          gemini.EncodeRequest, decode: gemini.DecodeResponse, decodeError: gemini.DecodeError,
		streamDecoder: func(r io.Reader) streamDecoder { return gemini.NewStreamDecoder(r) },
	},
}

func geminiPath(model string, stream bool) string {
	if stream {
		return gemini.StreamPath(model)
	}
	return gemini.GeneratePath(model)
}
