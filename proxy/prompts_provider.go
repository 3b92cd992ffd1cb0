package proxy

import (
	"github.com/tracegate/tracegate/registry"
)

// The Tracia SDKs accept exactly these providers on a prompt version (Python rejects any
// other value), so gateway provider kinds are mapped onto them.
const (
	traciaOpenAI    = "openai"
	traciaAnthropic = "anthropic"
	traciaGoogle    = "google"
	traciaBedrock   = "amazon_bedrock"
	traciaVoyage    = "voyage"
)

// traciaProviderOfKind maps a gateway provider kind (config providers[].type) to the Tracia
// provider enum. The mock provider has no Tracia counterpart; it answers like an OpenAI chat
// model (its replies go through the same run path and finish reasons), and openai is the enum's
// generic choice, so it is shown as openai. "" means the kind has no mapping.
func traciaProviderOfKind(kind string) string {
	switch kind {
	case "openai", "openai-compatible", "mock":
		return traciaOpenAI
	case "anthropic":
		return traciaAnthropic
	case "gemini", "google", "vertex":
		return traciaGoogle
	case "bedrock", "amazon_bedrock":
		return traciaBedrock
	case "voyage":
		return traciaVoyage
	}
	return ""
}

// validTraciaProvider reports whether s is one of the enum's values.
func validTraciaProvider(s string) bool {
	switch s {
	case traciaOpenAI, traciaAnthropic, traciaGoogle, traciaBedrock, traciaVoyage:
		return true
	}
	return false
}

// traciaProvider is the provider served for version v: where its model routes on this
// gateway; for a model no route serves, the provider the version was stored with when that is
// a Tracia value; else openai, so that the reply still validates.
func traciaProvider(rt *Runtime, v *registry.Version) string {
	if rt != nil && rt.Dispatcher != nil {
		if t, err := rt.Dispatcher.Resolve(v.Model); err == nil {
			if p := traciaProviderOfKind(t.Backend.Kind); p != "" {
				return p
			}
		}
	}
	if validTraciaProvider(v.Provider) {
		return v.Provider
	}
	if p := traciaProviderOfKind(v.Provider); p != "" {
		return p
	}
	return traciaOpenAI
}
