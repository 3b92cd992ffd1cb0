package proxy

import (
	"math"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// runResult is the RunResult the Tracia SDKs validate.
type runResult struct {
	Response      *llm.Response
	SpanID        string
	TraceID       string
	PromptVersion int
	LatencyMs     int64
	Cost          float64
	// StructuredOutput is the parsed JSON object when the version asks for structured output.
	StructuredOutput []byte
	// Sent is the conversation sent; the RunResult's messages are Sent plus the reply.
	Sent []llm.Message
}

// sdkFinishReason maps a canonical finish reason to the three the SDKs accept; the provider's
// own reason stays on the span.
func sdkFinishReason(f llm.FinishReason) string {
	switch f {
	case llm.FinishToolCalls:
		return "tool_calls"
	case llm.FinishLength:
		return "max_tokens"
	default:
		return "stop"
	}
}

func (r *runResult) appendJSON(b []byte) []byte {
	resp := r.Response
	b = append(b, `{"text":`...)
	b = jsonw.StringOrNull(b, resp.Text, resp.HasText)
	b = append(b, `,"spanId":`...)
	b = jsonw.String(b, r.SpanID)
	b = append(b, `,"traceId":`...)
	b = jsonw.String(b, r.TraceID)
	b = append(b, `,"promptVersion":`...)
	b = jsonw.Int(b, int64(r.PromptVersion))
	b = append(b, `,"latencyMs":`...)
	b = jsonw.Int(b, r.LatencyMs)
	b = append(b, `,"usage":{"inputTokens":`...)
	b = jsonw.Int(b, resp.Usage.InputTokens)
	b = append(b, `,"outputTokens":`...)
	b = jsonw.Int(b, resp.Usage.OutputTokens)
	b = append(b, `,"totalTokens":`...)
	b = jsonw.Int(b, resp.Usage.TotalTokens())
	b = append(b, `},"cost":`...)
	b = jsonw.Float(b, roundUSD(r.Cost))
	b = append(b, `,"finishReason":`...)
	b = jsonw.String(b, sdkFinishReason(resp.FinishReason))
	b = append(b, `,"toolCalls":`...)
	if len(resp.ToolCalls) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range resp.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendToolCall(b, c, false)
		}
		b = append(b, ']')
	}
	b = append(b, `,"structuredOutput":`...)
	b = jsonw.Raw(b, r.StructuredOutput)
	b = append(b, `,"messages":[`...)
	for i := range r.Sent {
		b = appendLocalMessage(b, &r.Sent[i])
		b = append(b, ',')
	}
	reply := llm.Message{Role: llm.RoleAssistant}
	if len(resp.ToolCalls) == 0 {
		// what AssistantMessage builds, without allocating its one part
		var text [1]llm.Part
		text[0] = llm.TextPart(resp.Text)
		reply.Parts = text[:]
	} else {
		reply = resp.AssistantMessage()
	}
	b = appendLocalMessage(b, &reply)
	return append(b, "]}"...)
}

func appendToolCall(b []byte, c llm.ToolCall, withType bool) []byte {
	b = append(b, '{')
	if withType {
		b = append(b, `"type":"tool_call",`...)
	}
	b = append(b, `"id":`...)
	b = jsonw.String(b, c.ID)
	b = append(b, `,"name":`...)
	b = jsonw.String(b, c.Name)
	b = append(b, `,"arguments":`...)
	if len(c.Arguments) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, c.Arguments...)
	}
	return append(b, '}')
}

// appendLocalMessage writes a Tracia LocalPromptMessage: plain string content when the message
// is one text part, a parts list otherwise (assistant tool calls).
func appendLocalMessage(b []byte, m *llm.Message) []byte {
	b = append(b, `{"role":`...)
	b = jsonw.String(b, string(m.Role))
	b = append(b, `,"content":`...)
	if len(m.Parts) == 1 && m.Parts[0].Type == llm.PartText || len(m.Parts) == 0 {
		b = jsonw.String(b, m.Text())
	} else {
		b = append(b, '[')
		for j, p := range m.Parts {
			if j > 0 {
				b = append(b, ',')
			}
			if p.Type == llm.PartToolCall {
				b = appendToolCall(b, p.ToolCall, true)
				continue
			}
			b = append(b, `{"type":"text","text":`...)
			b = jsonw.String(b, p.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"toolCallId":`...)
		b = jsonw.String(b, m.ToolCallID)
	}
	if m.ToolName != "" {
		b = append(b, `,"toolName":`...)
		b = jsonw.String(b, m.ToolName)
	}
	return append(b, '}')
}

// appendLocalMessages writes a list of Tracia LocalPromptMessages.
func appendLocalMessages(b []byte, msgs []llm.Message) []byte {
	b = append(b, '[')
	for i := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLocalMessage(b, &msgs[i])
	}
	return append(b, ']')
}

// roundUSD rounds a cost to 1e-12 USD for the response only, so float noise from summing
// per-token rates (0.00014000000000000001) does not reach callers; spans keep the exact sum.
func roundUSD(c float64) float64 { return math.Round(c*1e12) / 1e12 }
