package config

import "fmt"

// Values of a provider's wire_api.
const (
	WireAPIResponses = "responses"
	WireAPIChat      = "chat"
)

// ServesResponses reports whether the provider takes OpenAI Responses bodies as they are
// (wire_api responses, the default for type openai). Other types, and openai providers with
// wire_api chat, get Responses requests translated. Validate and the provider package both
// decide through it, so a value that loads is a value that works.
func (p Provider) ServesResponses() (bool, error) {
	switch p.WireAPI {
	case "":
		return p.Type == "openai", nil
	case WireAPIResponses, WireAPIChat:
		if p.Type != "openai" {
			return false, fmt.Errorf("%q applies to type openai only, not %s", p.WireAPI, p.Type)
		}
		return p.WireAPI == WireAPIResponses, nil
	}
	return false, fmt.Errorf("%q: want %s or %s", p.WireAPI, WireAPIResponses, WireAPIChat)
}
