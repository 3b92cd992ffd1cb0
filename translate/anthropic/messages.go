package anthropic

import (
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// turn is a run of messages [start, end) that becomes one Anthropic message. Instruction
// messages and messages with nothing to send may sit inside the run; they are skipped.
type turn struct {
	start, end int
	assistant  bool
}

// appendMessages writes the messages array. Anthropic wants strictly one turn per role change,
// so consecutive messages that map to the same wire role (user and tool both map to user) are
// merged, and every tool result must answer a tool_use of the turn just before it.
func appendMessages(dst []byte, msgs []llm.Message) ([]byte, error) {
	if err := checkMessages(msgs); err != nil {
		return dst, err
	}
	dst = append(dst, `,"messages":[`...)
	var prev turn
	havePrev := false
	for i := 0; i < len(msgs); {
		if skipMessage(&msgs[i]) {
			i++
			continue
		}
		t := turn{start: i, assistant: msgs[i].Role == llm.RoleAssistant}
		j := i + 1
		for ; j < len(msgs); j++ {
			if skipMessage(&msgs[j]) {
				continue
			}
			if (msgs[j].Role == llm.RoleAssistant) != t.assistant {
				break
			}
		}
		t.end = j
		if havePrev {
			dst = append(dst, ',')
		}
		var err error
		if t.assistant {
			dst, err = appendAssistantTurn(dst, msgs[t.start:t.end])
		} else {
			var answered []llm.Message
			if havePrev && prev.assistant {
				answered = msgs[prev.start:prev.end]
			}
			dst, err = appendUserTurn(dst, msgs[t.start:t.end], answered)
		}
		if err != nil {
			return dst, err
		}
		prev, havePrev = t, true
		i = j
	}
	if !havePrev {
		return dst, invalid("no user or assistant message to send")
	}
	return append(dst, ']'), nil
}

// checkMessages rejects malformed messages up front, so that turn building only has to
// validate how messages relate to each other.
func checkMessages(msgs []llm.Message) error {
	for i := range msgs {
		m := &msgs[i]
		if !m.Role.Valid() {
			return invalid("message %d: unknown role %q", i, m.Role)
		}
		if m.Role == llm.RoleTool && m.ToolCallID == "" {
			return invalid("message %d: tool result has no tool call id", i)
		}
		for j := range m.Parts {
			p := &m.Parts[j]
			switch p.Type {
			case llm.PartText:
			case llm.PartImage:
				if m.Role != llm.RoleUser && m.Role != llm.RoleTool {
					return invalid("message %d: images go in user messages or tool results, not %s", i, m.Role)
				}
				if err := checkImage(p.Image); err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
			case llm.PartReasoning:
				if m.Role != llm.RoleAssistant {
					return invalid("message %d: a %s message cannot carry reasoning", i, m.Role)
				}
			case llm.PartToolCall:
				if m.Role != llm.RoleAssistant {
					return invalid("message %d: a %s message cannot carry a tool call", i, m.Role)
				}
				c := &p.ToolCall
				if c.ID == "" || c.Name == "" {
					return invalid("message %d: tool call without id or name", i)
				}
				if !jsonw.IsNull(c.Arguments) && !jsonw.IsObject(c.Arguments) {
					return invalid("message %d: tool call %q: arguments are not a JSON object", i, c.ID)
				}
			default:
				return invalid("message %d: unknown part type %q", i, p.Type)
			}
		}
	}
	return nil
}

// skipMessage reports whether m adds nothing to the messages array: instructions go to the
// system field, and Anthropic rejects empty text blocks and empty turns.
func skipMessage(m *llm.Message) bool {
	switch m.Role {
	case llm.RoleTool:
		return false
	case llm.RoleUser, llm.RoleAssistant:
		for i := range m.Parts {
			p := &m.Parts[i]
			if p.Type == llm.PartToolCall || p.Type == llm.PartImage || p.Text != "" ||
				(p.Type == llm.PartReasoning && replayable(p.Reasoning)) {
				return false
			}
		}
	}
	return true
}

func appendAssistantTurn(dst []byte, run []llm.Message) ([]byte, error) {
	dst = append(dst, `{"role":"assistant","content":[`...)
	first := true
	for i := range run {
		m := &run[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		for j := range m.Parts {
			p := &m.Parts[j]
			switch {
			case p.Type == llm.PartText && p.Text == "",
				p.Type == llm.PartReasoning && !replayable(p.Reasoning),
				p.Type == llm.PartImage: // checkMessages keeps images out of assistant turns
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			switch p.Type {
			case llm.PartText:
				dst = appendTextBlock(dst, p.Text)
				continue
			case llm.PartReasoning:
				dst = appendThinkingBlock(dst, p.Reasoning)
				continue
			}
			dst = append(dst, `{"type":"tool_use","id":`...)
			dst = jsonw.String(dst, p.ToolCall.ID)
			dst = append(dst, `,"name":`...)
			dst = jsonw.String(dst, p.ToolCall.Name)
			dst = append(dst, `,"input":`...)
			if jsonw.IsNull(p.ToolCall.Arguments) {
				dst = append(dst, "{}"...)
			} else {
				dst = append(dst, jsonw.TrimSpace(p.ToolCall.Arguments)...)
			}
			dst = append(dst, '}')
		}
	}
	return append(dst, "]}"...), nil
}

// appendUserTurn writes tool results first, as Anthropic requires, then the user's text.
// answered is the previous assistant turn (nil if the previous turn was not the assistant's).
func appendUserTurn(dst []byte, run, answered []llm.Message) ([]byte, error) {
	dst = append(dst, `{"role":"user","content":[`...)
	first := true
	for i := range run {
		m := &run[i]
		if m.Role != llm.RoleTool {
			continue
		}
		if !callIssued(answered, m.ToolCallID) {
			return dst, invalid("tool result %q answers no tool call of the preceding assistant message", m.ToolCallID)
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"type":"tool_result","tool_use_id":`...)
		dst = jsonw.String(dst, m.ToolCallID)
		// An empty result is sent without content: Anthropic rejects empty text. A result
		// with images needs content blocks.
		if hasImage(m) {
			dst = append(dst, `,"content":[`...)
			dst, _ = appendContentBlocks(dst, m, true)
			dst = append(dst, ']')
		} else if text := m.Text(); text != "" {
			dst = append(dst, `,"content":`...)
			dst = jsonw.String(dst, text)
		}
		if m.IsError {
			dst = append(dst, `,"is_error":true`...)
		}
		dst = append(dst, '}')
	}
	for i := range run {
		m := &run[i]
		if m.Role == llm.RoleUser {
			dst, first = appendContentBlocks(dst, m, first)
		}
	}
	return append(dst, "]}"...), nil
}

func callIssued(assistant []llm.Message, id string) bool {
	for i := range assistant {
		m := &assistant[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		for j := range m.Parts {
			if m.Parts[j].Type == llm.PartToolCall && m.Parts[j].ToolCall.ID == id {
				return true
			}
		}
	}
	return false
}
