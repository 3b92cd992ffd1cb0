package config

import "fmt"

// Values of a provider's wire_api.
const (
	WireAPIResponses = "responses"
	WireAPIChat      = "chat"
)

// ServesResponses reports whether the provider takes OpenAI Responses bodies as they are
// (wire_api responses, the default for type openai, and for type azure on the v1 api_version,
// the only one where Azure has the Responses API). Other types, and providers with wire_api
// chat, get Responses requests translated. Validate and the provider package both decide
// through it, so a value that loads is a value that works.
func (p Provider) ServesResponses() (bool, error) {
	switch p.WireAPI {
	case "":
		return p.Type == "openai" || p.Type == "azure" && p.azureV1(), nil
	case WireAPIResponses, WireAPIChat:
		switch {
		case p.Type == "azure" && p.WireAPI == WireAPIResponses && !p.azureV1():
			return false, fmt.Errorf("%q: Azure has the Responses API on api_version %s (or preview) only, not %s",
				p.WireAPI, AzureV1, p.AzureAPIVersion())
		case p.Type != "openai" && p.Type != "azure":
			return false, fmt.Errorf("%q applies to types openai and azure only, not %s", p.WireAPI, p.Type)
		}
		return p.WireAPI == WireAPIResponses, nil
	}
	return false, fmt.Errorf("%q: want %s or %s", p.WireAPI, WireAPIResponses, WireAPIChat)
}

// azureV1 reports whether an azure provider uses the v1 API (v1 or preview), rather than a
// dated api-version.
func (p Provider) azureV1() bool {
	v := p.AzureAPIVersion()
	return v == AzureV1 || v == "preview"
}
