package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCloudProvidersParse(t *testing.T) {
	raw := []byte(`
registry: {sources: [{type: file, path: p}]}
providers:
  - {name: az, type: azure, base_url: "https://r.openai.azure.com", api_key: "${AZ_KEY:-}", deployments: {gpt-4o: prod-4o}}
  - {name: az2, type: azure, base_url: "https://r.openai.azure.com", auth: entra, api_version: 2024-10-21}
  - {name: br, type: bedrock, region: us-east-1, profile: team, prompt_cache: true}
  - {name: br2, type: bedrock, region: eu-west-1, api_key: "${AWS_BEARER_TOKEN_BEDROCK:-}"}
  - {name: vx, type: vertex, project: my-proj-1, location: global, credentials_file: sa.json}
`)
	c, err := Parse(raw, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{AuthAPIKey, AuthEntra, AuthSigV4, AuthBearer, AuthADC} {
		if got := c.Providers[i].AuthMode(); got != want {
			t.Errorf("%s: auth %q, want %q", c.Providers[i].Name, got, want)
		}
	}
	if c.Providers[0].Deployments["gpt-4o"] != "prod-4o" || c.Providers[0].AzureAPIVersion() != AzureV1 || c.Providers[1].AzureAPIVersion() != "2024-10-21" {
		t.Errorf("azure keys %+v %+v", c.Providers[0].Cloud, c.Providers[1].Cloud)
	}
	if !c.Providers[2].PromptCache || c.Providers[4].Location != "global" {
		t.Errorf("cloud keys %+v", c.Providers)
	}
}

func TestCloudProvidersValidate(t *testing.T) {
	raw := []byte(`
registry: {sources: [{type: file, path: p}]}
providers:
  - {name: o, type: openai, base_url: "https://api.openai.com/v1", region: us-east-1}
  - {name: az, type: azure, auth: sigv4}
  - {name: br, type: bedrock, region: mars, project: p, auth: bearer}
  - {name: vx, type: vertex, api_version: v1}
  - {name: vx2, type: vertex, location: "us central", project: "X"}
`)
	_, err := Parse(raw, envOf(nil))
	if err == nil {
		t.Fatal("invalid cloud keys accepted")
	}
	for _, want := range []string{
		"(o).region: not a key of type openai",
		"(az).auth \"sigv4\": want one of entra, api_key, bearer",
		"type azure needs base_url",
		"(br).region \"mars\"",
		"(br).project: not a key of type bedrock",
		"(br): auth bearer needs api_key",
		"(vx).api_version: not a key of type vertex",
		"type vertex needs location",
		"(vx2).location \"us central\"",
		"(vx2).project \"X\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestCloudCredentialsFileIsRelativeToTheConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracegate.yaml")
	os.WriteFile(path, []byte("registry: {sources: [{type: file, path: p}]}\nproviders: [{name: v, type: vertex, location: global, credentials_file: keys/sa.json}]\n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Providers[0].CredentialsFile; got != filepath.Join(dir, "keys", "sa.json") {
		t.Errorf("credentials_file %q", got)
	}
}
