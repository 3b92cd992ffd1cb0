package anthropic

import (
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// Images and replayed reasoning, the content beyond text and tool calls.

// checkImage validates an image part before anything is written.
func checkImage(img *llm.Image) error {
	switch {
	case img == nil:
		return invalid("image part without an image")
	case img.Data != "":
		if !strings.HasPrefix(img.MediaType, "image/") {
			return invalid("inline image needs an image/* media type, not %q", img.MediaType)
		}
	case !strings.HasPrefix(img.URL, "https://") && !strings.HasPrefix(img.URL, "http://"):
		return invalid("image needs base64 data or an http(s) URL")
	}
	return nil
}

// appendImageBlock writes {"type":"image","source":...}: base64 data or a URL source.
// Anthropic has no detail hint, so Detail is not sent.
func appendImageBlock(dst []byte, img *llm.Image) []byte {
	if img.Data != "" {
		dst = append(dst, `{"type":"image","source":{"type":"base64","media_type":`...)
		dst = jsonw.String(dst, img.MediaType)
		dst = append(dst, `,"data":`...)
		dst = jsonw.String(dst, img.Data)
		return append(dst, "}}"...)
	}
	dst = append(dst, `{"type":"image","source":{"type":"url","url":`...)
	dst = jsonw.String(dst, img.URL)
	return append(dst, "}}"...)
}

// replayable reports whether reasoning can go back to Anthropic: only signed thinking and
// redacted thinking can; Anthropic rejects thinking blocks it did not sign.
func replayable(r *llm.Reasoning) bool {
	return r != nil && (r.Signature != "" || r.Redacted != "")
}

// appendThinkingBlock writes a replayed thinking or redacted_thinking block.
func appendThinkingBlock(dst []byte, r *llm.Reasoning) []byte {
	if r.Redacted != "" {
		dst = append(dst, `{"type":"redacted_thinking","data":`...)
		dst = jsonw.String(dst, r.Redacted)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"thinking","thinking":`...)
	dst = jsonw.String(dst, r.Text)
	dst = append(dst, `,"signature":`...)
	dst = jsonw.String(dst, r.Signature)
	return append(dst, '}')
}

// hasImage reports whether a message carries an image part.
func hasImage(m *llm.Message) bool {
	for i := range m.Parts {
		if m.Parts[i].Type == llm.PartImage {
			return true
		}
	}
	return false
}

// appendContentBlocks writes a message's text and image parts as blocks, in order, skipping
// empty text (which Anthropic rejects). first says no block precedes them in the array.
func appendContentBlocks(dst []byte, m *llm.Message, first bool) ([]byte, bool) {
	for j := range m.Parts {
		p := &m.Parts[j]
		switch {
		case p.Type == llm.PartText && p.Text != "":
			if !first {
				dst = append(dst, ',')
			}
			dst = appendTextBlock(dst, p.Text)
		case p.Type == llm.PartImage:
			if !first {
				dst = append(dst, ',')
			}
			dst = appendImageBlock(dst, p.Image)
		default:
			continue
		}
		first = false
	}
	return dst, first
}
