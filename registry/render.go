package registry

import (
	"strings"

	"github.com/tracegate/tracegate/llm"
)

// MissingVariablesError names every variable a template uses that the caller did not give.
type MissingVariablesError struct{ Names []string }

func (e *MissingVariablesError) Error() string {
	return "missing variables: " + strings.Join(e.Names, ", ")
}

// Render fills {{name}} placeholders (word characters, optional spaces inside the braces) in
// every message. Values are inserted literally, never expanded again; extra variables are
// ignored; all missing ones are reported together in a *MissingVariablesError.
func Render(msgs []TemplateMessage, vars map[string]string) ([]llm.Message, error) {
	out := make([]llm.Message, len(msgs))
	parts := make([]llm.Part, len(msgs)) // one part each, in one allocation
	var missing []string
	for i, m := range msgs {
		parts[i] = llm.TextPart(renderText(m.Content, vars, &missing))
		out[i] = llm.Message{Role: llm.Role(m.Role), Parts: parts[i : i+1 : i+1]}
	}
	if len(missing) > 0 {
		return nil, &MissingVariablesError{Names: missing}
	}
	return out, nil
}

// Variables lists the distinct variable names the messages use, in order of first use.
func Variables(msgs []TemplateMessage) []string {
	var names []string
	for _, m := range msgs {
		s := m.Content
		for {
			_, end, name, ok := nextPlaceholder(s)
			if !ok {
				break
			}
			if !contains(names, name) {
				names = append(names, name)
			}
			s = s[end:]
		}
	}
	return names
}

func renderText(s string, vars map[string]string, missing *[]string) string {
	start, end, name, ok := nextPlaceholder(s)
	if !ok {
		return s // the common case for static messages: no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 32)
	for ok {
		b.WriteString(s[:start])
		if v, found := vars[name]; found {
			b.WriteString(v)
		} else {
			if !contains(*missing, name) {
				*missing = append(*missing, name)
			}
			b.WriteString(s[start:end])
		}
		s = s[end:]
		start, end, name, ok = nextPlaceholder(s)
	}
	b.WriteString(s)
	return b.String()
}

// nextPlaceholder finds the first {{ name }} in s: its byte span and the name.
func nextPlaceholder(s string) (start, end int, name string, ok bool) {
	from := 0
	for {
		i := strings.Index(s[from:], "{{")
		if i < 0 {
			return 0, 0, "", false
		}
		i += from
		j := i + 2
		for j < len(s) && s[j] == ' ' {
			j++
		}
		k := j
		for k < len(s) && isWordByte(s[k]) {
			k++
		}
		if k == j {
			from = i + 1
			continue
		}
		n := k
		for n < len(s) && s[n] == ' ' {
			n++
		}
		if n+1 < len(s) && s[n] == '}' && s[n+1] == '}' {
			return i, n + 2, s[j:k], true
		}
		from = i + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
