package provider

import (
	"testing"

	"github.com/tracegate/tracegate/config"
)

func TestAzureResponsesAndEmbeddingsPaths(t *testing.T) {
	for _, tc := range []struct {
		version                   string
		serves                    bool
		create, stored, embedding string
	}{
		{"", true, "/openai/v1/responses", "/openai/v1/responses/resp_1?include%5B%5D=x", "/openai/v1/embeddings"},
		{"preview", true, "/openai/v1/responses?api-version=preview", "/openai/v1/responses/resp_1?api-version=preview&include%5B%5D=x",
			"/openai/v1/embeddings?api-version=preview"},
		{"2024-10-21", false, "", "", "/openai/deployments/prod-embed/embeddings?api-version=2024-10-21"},
	} {
		b, err := NewBackend(config.Provider{Name: "azure", Type: "azure", BaseURL: "https://r.openai.azure.com/openai/v1", APIKey: "k",
			Cloud: config.Cloud{APIVersion: tc.version, Deployments: map[string]string{"text-embedding-3-small": "prod-embed"}}})
		if err != nil {
			t.Fatal(err)
		}
		if b.BaseURL != "https://r.openai.azure.com" || b.ServesResponses() != tc.serves {
			t.Errorf("%q: base %s, serves responses %v", tc.version, b.BaseURL, b.ServesResponses())
		}
		if tc.serves {
			if got := b.responsesURI("", ""); got != tc.create {
				t.Errorf("%q: create at %s, want %s", tc.version, got, tc.create)
			}
			if got := b.responsesURI("/resp_1", "include%5B%5D=x"); got != tc.stored {
				t.Errorf("%q: stored at %s, want %s", tc.version, got, tc.stored)
			}
		}
		if got := b.embeddingsPath("text-embedding-3-small"); got != tc.embedding {
			t.Errorf("%q: embeddings at %s, want %s", tc.version, got, tc.embedding)
		}
	}
	openai, err := NewBackend(config.Provider{Name: "o", Type: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if openai.responsesURI("/r", "a=b") != "/responses/r?a=b" || openai.embeddingsPath("m") != "/embeddings" {
		t.Errorf("openai paths %s %s", openai.responsesURI("/r", "a=b"), openai.embeddingsPath("m"))
	}
}
