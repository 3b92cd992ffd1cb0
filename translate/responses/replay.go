package responses

import "strings"

// Reasoning items carry the provider's replay state in encrypted_content, which clients such
// as Codex send back untouched. A signature (Anthropic's thinking signature) is stored as is;
// Anthropic's redacted thinking, which has data instead of text, is marked by a prefix so it
// comes back as the same kind of block.
const redactedPrefix = "tg-redacted:"

// replayToken is the encrypted_content of a reasoning item.
func replayToken(signature, redacted string) string {
	if redacted != "" {
		return redactedPrefix + redacted
	}
	return signature
}

// splitReplayToken reverses replayToken.
func splitReplayToken(tok string) (signature, redacted string) {
	if r, ok := strings.CutPrefix(tok, redactedPrefix); ok {
		return "", r
	}
	return tok, ""
}
