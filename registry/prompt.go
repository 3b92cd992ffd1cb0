package registry

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tracegate/tracegate/llm"
	"go.yaml.in/yaml/v3"
)

// Prompt is a versioned prompt template, in the shape of the Tracia prompts API.
type Prompt struct {
	ID             string    `json:"id" yaml:"id,omitempty"`
	Slug           string    `json:"slug" yaml:"slug"`
	Name           string    `json:"name" yaml:"name"`
	Description    string    `json:"description" yaml:"description,omitempty"`
	CurrentVersion int       `json:"currentVersion" yaml:"currentVersion,omitempty"`
	Versions       []Version `json:"versions" yaml:"versions"`
	CreatedAt      string    `json:"createdAt,omitempty" yaml:"createdAt,omitempty"`
	UpdatedAt      string    `json:"updatedAt,omitempty" yaml:"updatedAt,omitempty"`
}

// Version is one immutable version of a prompt.
type Version struct {
	Version         int               `json:"version" yaml:"version"`
	Model           string            `json:"model" yaml:"model"`
	Provider        string            `json:"provider,omitempty" yaml:"provider,omitempty"`
	Temperature     *float64          `json:"temperature,omitempty" yaml:"temperature,omitempty"`
	MaxOutputTokens int               `json:"maxOutputTokens,omitempty" yaml:"maxOutputTokens,omitempty"`
	TopP            *float64          `json:"topP,omitempty" yaml:"topP,omitempty"`
	StopSequences   []string          `json:"stopSequences,omitempty" yaml:"stopSequences,omitempty"`
	Messages        []TemplateMessage `json:"messages" yaml:"messages"`
	Tools           []ToolDef         `json:"tools,omitempty" yaml:"tools,omitempty"`
	ResponseFormat  *ResponseFormat   `json:"responseFormat,omitempty" yaml:"responseFormat,omitempty"`
	CreatedAt       string            `json:"createdAt,omitempty" yaml:"createdAt,omitempty"`
}

// TemplateMessage is one message of a template; Content may hold {{variables}}.
type TemplateMessage struct {
	ID      string `json:"id,omitempty" yaml:"id,omitempty"`
	Role    string `json:"role" yaml:"role"`
	Content string `json:"content" yaml:"content"`
}

// ToolDef declares a tool the model may call. Parameters is a JSON Schema.
type ToolDef struct {
	Name        string     `json:"name" yaml:"name"`
	Description string     `json:"description,omitempty" yaml:"description,omitempty"`
	Parameters  JSONObject `json:"parameters,omitempty" yaml:"parameters,omitempty"`
}

// ResponseFormat asks for structured output: type json with an optional JSON Schema.
type ResponseFormat struct {
	Type   string     `json:"type" yaml:"type"`
	Name   string     `json:"name,omitempty" yaml:"name,omitempty"`
	Schema JSONObject `json:"schema,omitempty" yaml:"schema,omitempty"`
}

// Version returns version v, or the current version when v is 0.
func (p *Prompt) Version(v int) (*Version, bool) {
	if v == 0 {
		v = p.CurrentVersion
	}
	for i := range p.Versions {
		if p.Versions[i].Version == v {
			return &p.Versions[i], true
		}
	}
	return nil, false
}

// normalize fills CurrentVersion and missing timestamps (from fallback) and checks the prompt
// is usable.
func (p *Prompt) normalize(slug string, fallback time.Time) error {
	if p.Slug == "" {
		p.Slug = slug
	}
	if p.Slug != slug {
		return fmt.Errorf("prompt declares slug %q but is stored as %q", p.Slug, slug)
	}
	if p.Name == "" {
		p.Name = slug
	}
	if p.ID == "" {
		p.ID = slug
	}
	if len(p.Versions) == 0 {
		return fmt.Errorf("prompt %q has no versions", slug)
	}
	seen := map[int]bool{}
	highest := 0
	for i := range p.Versions {
		v := &p.Versions[i]
		if v.Version <= 0 {
			return fmt.Errorf("prompt %q: version numbers must be positive, got %d", slug, v.Version)
		}
		if seen[v.Version] {
			return fmt.Errorf("prompt %q: version %d appears twice", slug, v.Version)
		}
		seen[v.Version] = true
		highest = max(highest, v.Version)
		if len(v.Messages) == 0 {
			return fmt.Errorf("prompt %q version %d has no messages", slug, v.Version)
		}
		for j, m := range v.Messages {
			if !llm.Role(m.Role).Valid() || m.Role == string(llm.RoleTool) {
				return fmt.Errorf("prompt %q version %d message %d: role %q must be system, developer, user or assistant", slug, v.Version, j, m.Role)
			}
		}
		for j, t := range v.Tools {
			if t.Name == "" {
				return fmt.Errorf("prompt %q version %d tool %d has no name", slug, v.Version, j)
			}
		}
	}
	if p.CurrentVersion == 0 {
		p.CurrentVersion = highest
	}
	if !seen[p.CurrentVersion] {
		return fmt.Errorf("prompt %q: currentVersion %d is not among its versions", slug, p.CurrentVersion)
	}
	if err := p.fillTimes(fallback); err != nil {
		return fmt.Errorf("prompt %q: %w", slug, err)
	}
	p.fillMessageIDs()
	return nil
}

// maxSlugLen bounds a slug, which also names a file.
const maxSlugLen = 128

// ValidSlug reports whether s can name a prompt: a letter or digit, then letters, digits, '.',
// '_' or '-', at most 128 in all, and no "..", so a slug can never name a path outside the
// prompt directory. It runs on every request, hence no regexp.
func ValidSlug(s string) bool {
	if len(s) == 0 || len(s) > maxSlugLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c), c == '_', c == '-':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// JSONObject is a JSON value kept as raw bytes; in YAML files it is written as a YAML mapping.
type JSONObject json.RawMessage

// MarshalJSON writes the raw bytes.
func (o JSONObject) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// UnmarshalJSON keeps a copy of the raw bytes.
func (o *JSONObject) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	*o = append((*o)[:0], b...)
	return nil
}

// MarshalYAML writes the JSON value as YAML, keeping its key order: JSON is YAML, so the
// bytes parse as a YAML node as they are.
func (o JSONObject) MarshalYAML() (any, error) {
	if len(o) == 0 {
		return nil, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(o, &n); err != nil {
		return nil, fmt.Errorf("convert JSON to YAML: %w", err)
	}
	blockStyle(&n)
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0], nil
	}
	return &n, nil
}

// blockStyle drops the flow style and quoting the JSON syntax gave n, so a schema reads like
// the rest of a hand-written prompt file.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// UnmarshalYAML converts a YAML mapping into JSON.
func (o *JSONObject) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("convert YAML to JSON: %w", err)
	}
	*o = b
	return nil
}
