package translate

import (
	"bytes"
	"unicode/utf8"
)

// MaxErrorText bounds the message kept from an error body that is not the provider's JSON
// envelope (an HTML page from a proxy, say): enough to diagnose, small enough for a span
// attribute or a log line.
const MaxErrorText = 512

// TruncateText returns an error body as message text: without surrounding white space, as
// valid UTF-8 (invalid bytes become U+FFFD), and cut to at most limit bytes of the body with "…"
// marking the cut. The cut backs off to the start of a rune it would split, so a multi-byte
// character is not turned into U+FFFD by the truncation itself.
func TruncateText(body []byte, limit int) string {
	body = bytes.TrimSpace(body)
	if len(body) <= limit {
		return string(bytes.ToValidUTF8(body, []byte("\uFFFD")))
	}
	body = body[:limit]
	// Only a valid rune start whose rune is incomplete marks a split; stray continuation bytes
	// are invalid input, which ToValidUTF8 replaces, and must not pull the cut further back.
	for i := len(body) - 1; i >= 0 && i >= len(body)-utf8.UTFMax; i-- {
		if utf8.RuneStart(body[i]) {
			if !utf8.FullRune(body[i:]) {
				body = body[:i]
			}
			break
		}
	}
	body = bytes.TrimRight(body, " \t\r\n")
	return string(bytes.ToValidUTF8(body, []byte("\uFFFD"))) + "…"
}
