package spans

import "testing"

func TestCloudProviderNames(t *testing.T) {
	for kind, want := range map[string]string{"azure": "azure.ai.openai", "bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai", "openai": "openai"} {
		if got := providerNameAttr(kind).Value.AsString(); got != want {
			t.Errorf("%s: %q, want %q", kind, got, want)
		}
	}
}
