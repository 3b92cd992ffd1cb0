package gemini

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// MintedIDPrefix starts every tool call id this package invents for a Gemini function call
// that came without one. See the package documentation for the scheme.
const MintedIDPrefix = "call_gm_"

// IsMintedID reports whether id was minted by this package rather than sent by Gemini.
func IsMintedID(id string) bool { return strings.HasPrefix(id, MintedIDPrefix) }

// mintedIDBase is the per-reply part of minted ids: the responseId, or a hash of the reply
// bytes when Gemini sent none.
func mintedIDBase(responseID string, body []byte) string {
	if responseID != "" {
		return responseID
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	return "h" + strconv.FormatUint(h.Sum64(), 16)
}

// appendMintedID appends the id of the n-th function call of the reply identified by base.
func appendMintedID(dst []byte, base string, n int) []byte {
	dst = append(dst, MintedIDPrefix...)
	dst = append(dst, base...)
	dst = append(dst, '_')
	return strconv.AppendInt(dst, int64(n), 10)
}

// echoableCallID reports whether a call id may be sent back to Gemini. Ids minted here, and
// ids issued by OpenAI ("call_...") or Anthropic ("toolu_...") when a conversation changed
// provider, are not Gemini's: sending them would make Gemini reject the request.
func echoableCallID(id string) bool {
	return id != "" && !strings.HasPrefix(id, "call_") && !strings.HasPrefix(id, "toolu_")
}
