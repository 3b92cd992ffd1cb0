package bedrock

import (
	"strconv"
	"strings"
)

// JSONToolName names the synthetic tool EncodeRequest forces a call of to get JSON from a
// model without native structured output. The decoders report its input as the reply text,
// with finish reason stop, so callers must not name a tool of their own like this.
const JSONToolName = "tracegate_json_output"

// NativeStructuredOutput reports whether Converse's outputConfig.textFormat works for model:
// Bedrock's native structured output covers Claude 4.5 and later and some open-weight
// families (Qwen, DeepSeek, Gemma, Nemotron, MiniMax, Kimi, the newer Mistral models). Other
// models (Nova, Llama, older Claude and Mistral) get the forced-tool fallback.
func NativeStructuredOutput(model string) bool {
	id := model
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:] // an ARN names the id after its last '/'
	}
	if i := strings.Index(id, "anthropic.claude-"); i >= 0 {
		return claudeAtLeast45(id[i+len("anthropic.claude-"):])
	}
	for _, family := range [...]string{"qwen.", "deepseek.", "google.gemma", "nvidia.", "minimax.", "moonshot"} {
		if strings.Contains(id, family) {
			return true
		}
	}
	for _, m := range [...]string{"mistral.mistral-large-3", "mistral.ministral-3", "mistral.magistral", "mistral.devstral"} {
		if strings.Contains(id, m) {
			return true
		}
	}
	return false
}

// claudeAtLeast45 reads the version of a Claude id after "claude-": the current form is
// family-major[-minor] ("sonnet-4-5-20250929-v1:0", "opus-4-6-v1", "sonnet-5"); the old form
// puts the version first ("3-5-sonnet-..."), which is always older than 4.5.
func claudeAtLeast45(rest string) bool {
	family, version, ok := strings.Cut(rest, "-")
	if !ok || (family != "haiku" && family != "sonnet" && family != "opus") {
		return false
	}
	parts := strings.SplitN(version, "-", 3)
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	minor := 0
	if len(parts) > 1 && len(parts[1]) <= 2 {
		minor, _ = strconv.Atoi(parts[1]) // a date or "v1" is no minor version
	}
	return major > 4 || major == 4 && minor >= 5
}
