package provider

import "github.com/tracegate/tracegate/translate/anthropic"

// messagesRoute is how a backend takes Anthropic Messages bodies as they are: Anthropic at
// /v1/messages with the caller's anthropic-version and anthropic-beta headers, Claude on
// Vertex AI at its rawPredict paths with the version in the body (translate/anthropic's
// VertexMessagesBody). Backends without one get Messages bodies translated.
type messagesRoute struct {
	path func(model string, stream bool) string
	// body is the body to send for model, the caller having asked for requested.
	body    func(body []byte, requested, model string) ([]byte, error)
	headers func(h MessagesHeaders) [][2]string
}

var anthropicMessages = &messagesRoute{
	path: func(string, bool) string { return anthropic.MessagesPath },
	body: func(body []byte, requested, model string) ([]byte, error) {
		return withTargetModel(body, requested, model), nil
	},
	headers: MessagesHeaders.extra,
}

// vertexClaudeMessages is the route of a Vertex Claude variant whose paths are path.
func vertexClaudeMessages(path func(model string, stream bool) string) *messagesRoute {
	return &messagesRoute{
		path: path,
		body: func(body []byte, _, _ string) ([]byte, error) {
			return anthropic.VertexMessagesBody(nil, body, vertexAnthropicVersion)
		},
		headers: func(h MessagesHeaders) [][2]string {
			if h.Beta == "" {
				return nil
			}
			return [][2]string{{"anthropic-beta", h.Beta}}
		},
	}
}

// messages is b's Messages route; nil when Messages bodies must be translated for it.
func (b *Backend) messages() *messagesRoute {
	if b.Kind == KindAnthropic {
		return anthropicMessages
	}
	return b.messagesVia
}
