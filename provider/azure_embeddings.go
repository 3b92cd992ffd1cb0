package provider

import "net/url"

// Azure OpenAI has OpenAI's embeddings API, reached like its chat completions: on the v1 API
// at {base}/openai/v1/embeddings with the deployment as the body's model, on a dated
// api_version at {base}/openai/deployments/{deployment}/embeddings?api-version={version}.
// Bodies pass through as they do to OpenAI.

func azureV1EmbeddingsPath(version string) func(string) string {
	path := "/openai/v1/embeddings"
	if version == "preview" {
		path += "?api-version=preview"
	}
	return func(string) string { return path }
}

func azureDeploymentEmbeddingsPath(version string, deployment func(model string) string) func(string) string {
	query := "/embeddings?api-version=" + url.QueryEscape(version)
	return func(model string) string {
		return "/openai/deployments/" + url.PathEscape(deployment(model)) + query
	}
}

// embeddingsPath is where the backend has OpenAI's embeddings API for model.
func (b *Backend) embeddingsPath(model string) string {
	if b.embeddingsAt != nil {
		return b.embeddingsAt(model)
	}
	return openAIEmbeddingsPath
}
