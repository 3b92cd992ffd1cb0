package bedrock

import (
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// appendMessages writes the conversation. Converse wants alternating user and assistant
// turns: tool results become user turns of toolResult blocks, and consecutive turns of the
// same role are merged into one. Blank text is dropped (Converse rejects it), and so is a turn
// left empty.
func appendMessages(dst []byte, msgs []llm.Message) ([]byte, error) {
	dst = append(dst, '[')
	role := ""  // the role of the open turn, "" when none is open
	blocks := 0 // blocks written in the open turn
	turns := 0
	for i := range msgs {
		m := &msgs[i]
		if m.Role.IsInstruction() {
			continue
		}
		want := "user"
		if m.Role == llm.RoleAssistant {
			want = "assistant"
		}
		if !hasBlocks(m) {
			continue
		}
		if want != role {
			if role != "" {
				dst = append(dst, "]}"...)
			}
			if turns > 0 {
				dst = append(dst, ',')
			}
			turns++
			dst = append(dst, `{"role":"`...)
			dst = append(dst, want...)
			dst = append(dst, `","content":[`...)
			role, blocks = want, 0
		}
		var err error
		if dst, blocks, err = appendBlocks(dst, m, blocks); err != nil {
			return dst, err
		}
	}
	if role != "" {
		dst = append(dst, "]}"...)
	}
	return append(dst, ']'), nil
}

func hasBlocks(m *llm.Message) bool {
	if m.Role == llm.RoleTool {
		return true
	}
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			if strings.TrimSpace(p.Text) != "" {
				return true
			}
		case llm.PartToolCall, llm.PartImage:
			return true
		case llm.PartReasoning:
			if m.Role == llm.RoleAssistant && p.Reasoning != nil {
				return true
			}
		}
	}
	return false
}

func appendBlocks(dst []byte, m *llm.Message, n int) ([]byte, int, error) {
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	if m.Role == llm.RoleTool {
		if m.ToolCallID == "" {
			return dst, n, invalid("tool message without a tool call id")
		}
		sep()
		dst = append(dst, `{"toolResult":{"toolUseId":`...)
		dst = jsonw.String(dst, m.ToolCallID)
		dst = append(dst, `,"content":[`...)
		text := m.Text()
		if t := jsonw.TrimSpace(text); len(t) > 0 && t[0] == '{' && jsonw.IsObject([]byte(t)) {
			dst = append(dst, `{"json":`...)
			dst = append(dst, t...)
			dst = append(dst, '}')
		} else {
			if strings.TrimSpace(text) == "" {
				text = "(empty)" // Converse rejects blank text, and a result must have content
			}
			dst = appendText(dst, text)
		}
		dst = append(dst, ']')
		if m.IsError {
			dst = append(dst, `,"status":"error"`...)
		}
		return append(dst, "}}"...), n, nil
	}
	for i := range m.Parts {
		p := &m.Parts[i]
		switch p.Type {
		case llm.PartText:
			if strings.TrimSpace(p.Text) == "" {
				continue
			}
			sep()
			dst = appendText(dst, p.Text)
		case llm.PartImage:
			img := p.Image
			if img == nil || img.Data == "" {
				return dst, n, invalid("bedrock takes images inline (base64), not by URL")
			}
			format, ok := imageFormat(img.MediaType)
			if !ok {
				return dst, n, invalid("image media type %q: bedrock takes png, jpeg, gif or webp", img.MediaType)
			}
			sep()
			dst = append(dst, `{"image":{"format":"`...)
			dst = append(dst, format...)
			dst = append(dst, `","source":{"bytes":`...)
			dst = jsonw.String(dst, img.Data)
			dst = append(dst, "}}}"...)
		case llm.PartToolCall:
			c := &p.ToolCall
			if c.ID == "" || c.Name == "" {
				return dst, n, invalid("tool call without id or name")
			}
			args := jsonw.TrimSpace(c.Arguments)
			if len(args) == 0 {
				args = []byte("{}")
			} else if !jsonw.IsObject(args) {
				return dst, n, invalid("tool call %q: arguments are not a JSON object", c.Name)
			}
			sep()
			dst = append(dst, `{"toolUse":{"toolUseId":`...)
			dst = jsonw.String(dst, c.ID)
			dst = append(dst, `,"name":`...)
			dst = jsonw.String(dst, c.Name)
			dst = append(dst, `,"input":`...)
			dst = append(dst, args...)
			dst = append(dst, "}}"...)
		case llm.PartReasoning:
			r := p.Reasoning
			if m.Role != llm.RoleAssistant || r == nil {
				continue
			}
			sep()
			if r.Redacted != "" {
				dst = append(dst, `{"reasoningContent":{"redactedContent":`...)
				dst = jsonw.String(dst, r.Redacted)
				dst = append(dst, "}}"...)
				continue
			}
			dst = append(dst, `{"reasoningContent":{"reasoningText":{"text":`...)
			dst = jsonw.String(dst, r.Text)
			if r.Signature != "" {
				dst = append(dst, `,"signature":`...)
				dst = jsonw.String(dst, r.Signature)
			}
			dst = append(dst, "}}}"...)
		}
	}
	return dst, n, nil
}

func imageFormat(mediaType string) (string, bool) {
	switch strings.ToLower(mediaType) {
	case "image/png":
		return "png", true
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}
