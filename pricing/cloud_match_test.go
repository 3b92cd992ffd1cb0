package pricing

import "testing"

// The cloud provider kinds: Bedrock ids with and without region prefixes and as ARNs,
// Azure's azure/ namespace, Vertex AI's vertex_ai/ namespace for Claude and bare keys for
// Gemini.
func TestLookupCloudKinds(t *testing.T) {
	table := embeddedTable(t)
	for _, c := range []struct{ kind, model, key string }{
		{"bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"bedrock", "apac.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"bedrock", "eu.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0"},
		{"bedrock", "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"},
		{"bedrock", "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0"},
		{"bedrock", "us.meta.llama3-3-70b-instruct-v1:0", "us.meta.llama3-3-70b-instruct-v1:0"},
		{"bedrock", "mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2407-v1:0"},
		{"bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"bedrock", "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6", ""},
		{"azure", "gpt-4o-2024-08-06", "azure/gpt-4o-2024-08-06"},
		{"azure", "gpt-4o-mini", "azure/gpt-4o-mini"},
		{"vertex", "claude-sonnet-4-5@20250929", "vertex_ai/claude-sonnet-4-5@20250929"},
		{"vertex", "claude-opus-4-1@20250805", "vertex_ai/claude-opus-4-1@20250805"},
		{"vertex", "claude-3-5-haiku@20991231", "vertex_ai/claude-3-5-haiku"},
		{"vertex", "gemini-2.5-flash", "gemini-2.5-flash"},
		{"vertex", "vertex_ai/claude-3-haiku@20240307", "vertex_ai/claude-3-haiku@20240307"},
	} {
		_, key, ok := table.Lookup(c.kind, c.model)
		if key != c.key || ok != (c.key != "") {
			t.Errorf("Lookup(%q, %q) = %q, %v; want %q", c.kind, c.model, key, ok, c.key)
		}
	}
}
