package pricing

import "strings"

// match applies the name rules documented on Lookup. Each step goes on from the previous
// step's name, so a dated id is tried as such before its alias: a snapshot can cost more than
// the alias (gpt-4o-2024-05-13 is twice gpt-4o).
func (t *Table) match(kind, model string) (*Price, string) {
	name := strings.TrimPrefix(model, "models/")
	if p, key := t.matchForms(kind, name); p != nil {
		return p, key
	}
	for _, step := range [...]func(string) (string, bool){fineTuneBase, bedrockARN, bedrockInRegion, azureGlobal, undated} {
		next, ok := step(name)
		if !ok {
			continue
		}
		name = next
		if p, key := t.matchForms(kind, name); p != nil {
			return p, key
		}
	}
	return nil, ""
}

func (t *Table) matchForms(kind, name string) (*Price, string) {
	if name == "" {
		return nil, ""
	}
	forms := nameForms(kind, name)
	for _, form := range forms {
		if t.overrides[form] {
			return t.models[form], form
		}
	}
	for _, form := range forms {
		if p := t.models[form]; p != nil {
			return p, form
		}
	}
	return nil, ""
}

// nameForms lists the keys a name may have in the table for a provider kind, best first.
// LiteLLM keys OpenAI and Anthropic models bare ("gpt-4o") but most other providers under
// their namespace ("gemini/gemini-2.5-pro"); a bare Gemini id is the Vertex AI entry, which
// can differ from the AI Studio price that tracegate's gemini provider pays.
func nameForms(kind, name string) []string {
	switch kind {
	case "", "mock":
		return []string{name}
	}
	if bare, ok := strings.CutPrefix(name, kind+"/"); ok {
		return []string{name, bare}
	}
	if ns, ok := namespaces[kind]; ok {
		kind = ns
		if bare, ok := strings.CutPrefix(name, kind+"/"); ok {
			return []string{name, bare}
		}
	}
	namespaced := kind + "/" + name
	if kind == "openai" || kind == "anthropic" {
		return []string{name, namespaced}
	}
	return []string{namespaced, name}
}

// namespaces maps provider kinds to LiteLLM's key prefix where the two differ: LiteLLM keys
// Claude on Vertex AI as "vertex_ai/claude-...@date". Gemini on Vertex is the bare key.
var namespaces = map[string]string{"vertex": "vertex_ai"}

// bedrockARN reduces a Bedrock model or inference-profile ARN
// (arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-...) to the
// id it names; application inference profiles have opaque ids and stay unpriced.
func bedrockARN(name string) (string, bool) {
	if !strings.HasPrefix(name, "arn:aws") || !strings.Contains(name, ":bedrock:") {
		return "", false
	}
	i := strings.LastIndexByte(name, '/')
	if i < 0 || i+1 == len(name) {
		return "", false
	}
	return name[i+1:], true
}

func fineTuneBase(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "ft:")
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return "", false
	}
	return name[:len("ft:")+i], true
}

var bedrockRegions = [...]string{"us.", "eu.", "apac.", "global.", "au.", "jp.", "ca.", "us-gov."}

func bedrockInRegion(name string) (string, bool) {
	for _, region := range bedrockRegions {
		if rest, ok := strings.CutPrefix(name, region); ok && strings.IndexByte(rest, '.') > 0 {
			return rest, true
		}
	}
	return "", false
}

func azureGlobal(name string) (string, bool) {
	for _, zone := range [...]string{"azure/eu/", "azure/us/"} {
		if rest, ok := strings.CutPrefix(name, zone); ok && rest != "" {
			return "azure/" + rest, true
		}
	}
	return "", false
}

func undated(name string) (string, bool) {
	n := len(name)
	// -YYYY-MM-DD
	if n > 11 && name[n-11] == '-' && name[n-6] == '-' && name[n-3] == '-' &&
		isYear(name[n-10:n-6]) && digits(name[n-5:n-3]) && digits(name[n-2:]) {
		return name[:n-11], true
	}
	// -YYYYMMDD, @YYYYMMDD
	if n > 9 && (name[n-9] == '-' || name[n-9] == '@') && isYear(name[n-8:n-4]) && digits(name[n-4:]) {
		return name[:n-9], true
	}
	return "", false
}

// isYear keeps other numeric suffixes (a "-12345678" build id) from reading as dates.
func isYear(s string) bool { return digits(s) && s[:2] == "20" }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
