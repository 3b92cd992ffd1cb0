package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, expands and strictly decodes the file at path, applies defaults and validates.
// Every validation problem is reported in one error.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(raw, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	c.resolvePaths(filepath.Dir(path))
	return c, nil
}

// resolvePaths makes relative file paths relative to the config file's directory, so the
// gateway finds its prompts whatever directory it is started from.
func (c *Config) resolvePaths(dir string) {
	for i := range c.Registry.Sources {
		if s := &c.Registry.Sources[i]; s.Type == "file" && s.Path != "" && !filepath.IsAbs(s.Path) {
			s.Path = filepath.Join(dir, s.Path)
		}
	}
	for i := range c.Providers {
		c.Providers[i].resolveCloudPaths(dir)
	}
	if c.Pricing.File != "" && !filepath.IsAbs(c.Pricing.File) {
		c.Pricing.File = filepath.Join(dir, c.Pricing.File)
	}
	c.Store.resolvePath(dir)
}

// Parse is Load on bytes, with env looking up variables for ${VAR} expansion.
func Parse(raw []byte, env func(string) (string, bool)) (*Config, error) {
	keyVars := providerKeyVars(raw)
	expanded, err := expand(raw, env)
	if err != nil {
		return nil, err
	}
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	c.applyDefaults()
	for i := range c.Providers {
		if i < len(keyVars) {
			c.Providers[i].APIKeyVar = keyVars[i]
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// varOrEscape also matches "$$", the escape for a literal "$".
var varOrEscape = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default}. An unset ${VAR} without a default is an error,
// so a typo cannot silently become an empty value. "$$" escapes a literal "$".
func expand(raw []byte, env func(string) (string, bool)) ([]byte, error) {
	var missing []string
	out := varOrEscape.ReplaceAllFunc(raw, func(m []byte) []byte {
		if string(m) == "$$" {
			return []byte("$")
		}
		sub := varOrEscape.FindSubmatch(m)
		name := string(sub[1])
		if v, ok := env(name); ok && (v != "" || sub[2] == nil) {
			return []byte(yamlSafe(v))
		}
		if sub[2] != nil {
			return []byte(yamlSafe(string(sub[3])))
		}
		missing = append(missing, name)
		return nil
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("config: environment variables not set (use ${VAR:-default} for optional ones): %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// yamlSafe keeps an expanded value from changing the YAML structure around it: values with
// newlines or a leading YAML indicator are written as a quoted scalar would need; plain values
// pass through.
func yamlSafe(v string) string {
	if strings.ContainsAny(v, "\n\r") {
		return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(v)
	}
	return v
}

// providerKeyVars finds, in file order, the variable each provider's api_key names, so a
// MISSING_PROVIDER_KEY error can say which variable to set. It parses a copy of the file in
// which every ${...} became a plain token, since a raw ${VAR:-} breaks YAML flow mappings.
func providerKeyVars(raw []byte) []string {
	var names []string
	tokenized := varRef.ReplaceAllFunc(raw, func(m []byte) []byte {
		names = append(names, string(varRef.FindSubmatch(m)[1]))
		return fmt.Appendf(nil, "tgvar%dtgvar", len(names)-1)
	})
	var n yaml.Node
	if yaml.Unmarshal(tokenized, &n) != nil || len(n.Content) == 0 {
		return nil
	}
	root := n.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "providers" {
			continue
		}
		var vars []string
		for _, item := range root.Content[i+1].Content {
			v := ""
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value != "api_key" {
					continue
				}
				var idx int
				if _, err := fmt.Sscanf(item.Content[j+1].Value, "tgvar%dtgvar", &idx); err == nil && idx < len(names) {
					v = names[idx]
				}
			}
			vars = append(vars, v)
		}
		return vars
	}
	return nil
}
