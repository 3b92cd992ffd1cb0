package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Cloud holds the keys of the cloud provider types (azure, bedrock, vertex). It is inlined
// into Provider, so the keys sit beside name, type and api_key in the file.
type Cloud struct {
	// Auth picks how requests are authenticated; empty picks the type's default (see AuthModes).
	Auth string `yaml:"auth"`
	// APIVersion is Azure's api-version: "v1" (the default) posts to {base}/openai/v1 with the
	// deployment as the body's model; a dated version ("2024-10-21") posts to
	// {base}/openai/deployments/{deployment}/chat/completions?api-version=....
	APIVersion string `yaml:"api_version"`
	// Deployments maps a model name to the Azure deployment serving it; a model not listed is
	// its own deployment name.
	Deployments map[string]string `yaml:"deployments"`
	// Region is the AWS region of a bedrock provider; empty takes the AWS config's region.
	Region string `yaml:"region"`
	// Profile names the AWS shared-config profile; empty is AWS_PROFILE or "default".
	Profile string `yaml:"profile"`
	// Project and Location place a vertex provider's calls; Location "global" uses the global
	// endpoint. An empty project is taken from the credentials.
	Project  string `yaml:"project"`
	Location string `yaml:"location"`
	// CredentialsFile is, for bedrock, an AWS shared credentials file; for vertex, a Google
	// credentials JSON file (a service-account key, or any file ADC accepts).
	CredentialsFile string `yaml:"credentials_file"`
	// PromptCache (bedrock) marks the system prompt and the tools as a cache prefix with
	// Converse cachePoint blocks; only models with prompt caching accept them.
	PromptCache bool `yaml:"prompt_cache"`
}

// Authentication modes of the cloud provider types.
const (
	AuthAPIKey = "api_key" // a static key in the provider's own header (Azure api-key)
	AuthBearer = "bearer"  // a static bearer token: api_key sent as Authorization: Bearer
	AuthEntra  = "entra"   // Azure: Microsoft Entra ID tokens (client credentials, managed identity, ...)
	AuthSigV4  = "sigv4"   // AWS: SigV4 signing with the AWS credential chain
	AuthADC    = "adc"     // Google: OAuth tokens from credentials_file or Application Default Credentials
)

// AuthModes lists, per cloud type, the allowed auth values; the first is the default when
// api_key is empty, the second when it is set (see Cloud.AuthMode).
var AuthModes = map[string][]string{
	"azure":   {AuthEntra, AuthAPIKey, AuthBearer},
	"bedrock": {AuthSigV4, AuthBearer},
	"vertex":  {AuthADC, AuthBearer},
}

// cloudKeys lists which Cloud keys each cloud type reads; any other set key is an error, so a
// key given to the wrong type does not silently do nothing.
var cloudKeys = map[string][]string{
	"azure":   {"auth", "api_version", "deployments"},
	"bedrock": {"auth", "region", "profile", "credentials_file", "prompt_cache"},
	"vertex":  {"auth", "project", "location", "credentials_file"},
}

// IsCloudType reports whether typ is one of the cloud provider types.
func IsCloudType(typ string) bool {
	_, ok := AuthModes[typ]
	return ok
}

// AuthMode is the auth a cloud provider uses: the configured one, or the default, which depends
// on whether the file gives an api_key (api_key for azure, bearer elsewhere). A key written as
// ${VAR:-} counts as given even when VAR is unset, so an unset variable reads as a missing key,
// not as a silent switch to another kind of credentials.
func (p *Provider) AuthMode() string {
	if p.Auth != "" {
		return p.Auth
	}
	modes := AuthModes[p.Type]
	if len(modes) == 0 {
		return ""
	}
	if p.APIKey != "" || p.APIKeyVar != "" {
		return modes[1]
	}
	return modes[0]
}

// AzureV1 is the api_version value of Azure's v1 API, the default.
const AzureV1 = "v1"

// AzureAPIVersion is the configured api-version, or AzureV1.
func (c *Cloud) AzureAPIVersion() string {
	if c.APIVersion == "" {
		return AzureV1
	}
	return c.APIVersion
}

var (
	awsRegion     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	gcpLocation   = regexp.MustCompile(`^([a-z]+-[a-z]+\d+|global)$`)
	gcpProject    = regexp.MustCompile(`^[a-z][-a-z0-9.:]{4,62}[a-z0-9]$`)
	azureVersion  = regexp.MustCompile(`^(v1|preview|\d{4}-\d{2}-\d{2}(-preview)?)$`)
	azureDeployID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// validateCloud checks the cloud keys of provider i; bad reports each problem.
func (p *Provider) validateCloud(i int, bad func(format string, args ...any)) {
	where := fmt.Sprintf("providers[%d] (%s)", i, p.Name)
	allowed, cloud := cloudKeys[p.Type]
	for _, k := range p.setCloudKeys() {
		if !cloud || !slices.Contains(allowed, k) {
			bad("%s.%s: not a key of type %s", where, k, p.Type)
		}
	}
	if !cloud {
		return
	}
	c := &p.Cloud
	mode := p.AuthMode()
	if !slices.Contains(AuthModes[p.Type], mode) {
		bad("%s.auth %q: want one of %s", where, c.Auth, strings.Join(AuthModes[p.Type], ", "))
	}
	if (mode == AuthAPIKey || mode == AuthBearer) && c.Auth != "" && p.APIKey == "" && p.APIKeyVar == "" {
		bad("%s: auth %s needs api_key", where, mode)
	}
	switch p.Type {
	case "azure":
		if !azureVersion.MatchString(c.AzureAPIVersion()) {
			bad("%s.api_version %q: want v1, preview or a dated version such as 2024-10-21", where, c.APIVersion)
		}
		for model, dep := range c.Deployments {
			if model == "" || !azureDeployID.MatchString(dep) {
				bad("%s.deployments[%q] %q: want a deployment name (letters, digits, '.', '_', '-')", where, model, dep)
			}
		}
	case "bedrock":
		if c.Region != "" && !awsRegion.MatchString(c.Region) {
			bad("%s.region %q: want an AWS region such as us-east-1", where, c.Region)
		}
	case "vertex":
		if c.Location == "" {
			bad("%s: type vertex needs location (a region such as us-central1, or global)", where)
		} else if !gcpLocation.MatchString(c.Location) {
			bad("%s.location %q: want a region such as us-central1, or global", where, c.Location)
		}
		if c.Project != "" && !gcpProject.MatchString(c.Project) {
			bad("%s.project %q: want a Google Cloud project id", where, c.Project)
		}
	}
	if p.BaseURL != "" {
		if err := checkURL(p.BaseURL); err != nil {
			bad("%s.base_url: %w", where, err)
		}
	} else if p.Type == "azure" {
		bad("%s: type azure needs base_url (https://<resource>.openai.azure.com)", where)
	}
}

// setCloudKeys names the Cloud keys given a value.
func (p *Provider) setCloudKeys() []string {
	c := &p.Cloud
	var keys []string
	for _, k := range [...]struct {
		name string
		set  bool
	}{
		{"auth", c.Auth != ""}, {"api_version", c.APIVersion != ""}, {"deployments", len(c.Deployments) > 0},
		{"region", c.Region != ""}, {"profile", c.Profile != ""}, {"project", c.Project != ""},
		{"location", c.Location != ""}, {"credentials_file", c.CredentialsFile != ""},
		{"prompt_cache", c.PromptCache},
	} {
		if k.set {
			keys = append(keys, k.name)
		}
	}
	return keys
}

// resolveCloudPaths makes a relative credentials_file relative to the config file's
// directory, like the other paths in the file.
func (p *Provider) resolveCloudPaths(dir string) {
	if f := p.CredentialsFile; f != "" && !filepath.IsAbs(f) {
		p.CredentialsFile = filepath.Join(dir, f)
	}
}
