package responses

import (
	"strconv"
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// Meta is what a Response object carries besides the reply itself.
type Meta struct {
	ID        string // resp_...
	CreatedAt int64  // Unix seconds
	Model     string // the model asked for; a reply's own model replaces it
	// Request is the decoded request, whose settings the object echoes; nil echoes defaults.
	Request *Request
}

// Response statuses.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

type itemKind uint8

const (
	itemMessage itemKind = iota + 1
	itemCall
	itemCustomCall // a call of a custom tool (custom.go)
	itemReasoning
)

// item is one output item of a Response, in the order the model produced it.
type item struct {
	kind      itemKind
	id        string
	text      string // message text, or reasoning text
	reasoning llm.Reasoning
	call      llm.ToolCall
	args      []byte // the call's arguments as a JSON text (the string the wire carries)
}

// itemID derives an output item's id from the response's, so that stream events and the final
// object agree without state: msg_<base>_<index>, fc_..., rs_....
func itemID(prefix, respID string, index int) string {
	base := strings.TrimPrefix(respID, "resp_")
	return prefix + base + "_" + strconv.Itoa(index)
}

// itemsOf lays out a complete reply as output items: reasoning, then text, then tool calls,
// the order every supported provider produces them in.
func itemsOf(resp *llm.Response, respID string, custom map[string]bool) []item {
	items := make([]item, 0, len(resp.Reasoning)+1+len(resp.ToolCalls))
	for _, r := range resp.Reasoning {
		items = append(items, item{kind: itemReasoning, id: itemID("rs_", respID, len(items)), text: r.Text, reasoning: r})
	}
	if resp.HasText {
		items = append(items, item{kind: itemMessage, id: itemID("msg_", respID, len(items)), text: resp.Text})
	}
	for _, c := range resp.ToolCalls {
		kind, prefix := callKind(custom, c.Name)
		items = append(items, item{kind: kind, id: itemID(prefix, respID, len(items)), call: c, args: c.Arguments})
	}
	return items
}

// callKind says whether a call of the named tool is a function or a custom tool call, and
// the prefix of its item id.
func callKind(custom map[string]bool, name string) (itemKind, string) {
	if custom[name] {
		return itemCustomCall, "ctc_"
	}
	return itemCall, "fc_"
}

// EncodeResponse appends the Response object for a complete canonical reply.
func EncodeResponse(dst []byte, resp *llm.Response, m *Meta) []byte {
	if resp.Model != "" {
		mm := *m
		mm.Model = resp.Model
		m = &mm
	}
	var custom map[string]bool
	if m.Request != nil {
		custom = m.Request.CustomTools
	}
	return appendResponse(dst, m, statusOf(resp.FinishReason), resp.FinishReason, itemsOf(resp, m.ID, custom), &resp.Usage, nil)
}

func statusOf(f llm.FinishReason) string {
	if f == llm.FinishLength || f == llm.FinishContentFilter {
		return StatusIncomplete
	}
	return StatusCompleted
}

// appendResponse writes a Response object. usage nil writes null (a response in progress);
// failure, when set, is the error of a failed response.
func appendResponse(dst []byte, m *Meta, status string, finish llm.FinishReason, items []item, usage *llm.Usage, failure *llm.UpstreamError) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = jsonw.Int(dst, m.CreatedAt)
	dst = append(dst, `,"status":`...)
	dst = jsonw.String(dst, status)
	dst = append(dst, `,"error":`...)
	if failure != nil {
		dst = appendFailure(dst, failure)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	switch {
	case status != StatusIncomplete:
		dst = append(dst, "null"...)
	case finish == llm.FinishContentFilter:
		dst = append(dst, `{"reason":"content_filter"}`...)
	default:
		dst = append(dst, `{"reason":"max_output_tokens"}`...)
	}
	r := m.Request
	if r == nil {
		r = &Request{LLM: &llm.Request{}, Store: true}
	}
	q := r.LLM
	dst = append(dst, `,"instructions":`...)
	dst = jsonw.StringOrNull(dst, r.Instructions, r.Instructions != "")
	dst = append(dst, `,"max_output_tokens":`...)
	if q.MaxTokens > 0 {
		dst = jsonw.Int(dst, int64(q.MaxTokens))
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, m.Model)
	dst = append(dst, `,"output":[`...)
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendItem(dst, &items[i], true, r.Namespaces)
	}
	dst = append(dst, `],"parallel_tool_calls":`...)
	dst = jsonw.Bool(dst, q.ParallelToolCalls == nil || *q.ParallelToolCalls)
	dst = append(dst, `,"previous_response_id":`...)
	dst = jsonw.StringOrNull(dst, r.PreviousResponseID, r.PreviousResponseID != "")
	dst = append(dst, `,"reasoning":{"effort":`...)
	effort, summary := "", ""
	if q.Reasoning != nil {
		effort, summary = q.Reasoning.Effort, q.Reasoning.Summary
	}
	dst = jsonw.StringOrNull(dst, effort, effort != "")
	dst = append(dst, `,"summary":`...)
	dst = jsonw.StringOrNull(dst, summary, summary != "")
	dst = append(dst, `},"store":`...)
	dst = jsonw.Bool(dst, r.Store)
	dst = append(dst, `,"temperature":`...)
	dst = appendFloatOr(dst, q.Temperature, 1)
	dst = append(dst, `,"text":{"format":`...)
	dst = appendFormat(dst, q.ResponseFormat)
	dst = append(dst, `},"tool_choice":`...)
	dst = appendToolChoice(dst, q.ToolChoice)
	dst = append(dst, `,"tools":[`...)
	for i := range q.Tools {
		if i > 0 {
			dst = append(dst, ',')
		}
		t := &q.Tools[i]
		dst = append(dst, `{"type":"function","name":`...)
		dst = jsonw.String(dst, t.Name)
		dst = append(dst, `,"description":`...)
		dst = jsonw.StringOrNull(dst, t.Description, t.Description != "")
		dst = append(dst, `,"parameters":`...)
		dst = jsonw.Raw(dst, t.Parameters)
		dst = append(dst, `,"strict":`...)
		dst = jsonw.Bool(dst, t.Strict)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"top_p":`...)
	dst = appendFloatOr(dst, q.TopP, 1)
	dst = append(dst, `,"truncation":"disabled","usage":`...)
	if usage != nil {
		dst = appendUsage(dst, usage)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"user":`...)
	dst = jsonw.StringOrNull(dst, q.User, q.User != "")
	dst = append(dst, `,"metadata":`...)
	if len(r.Metadata) > 0 {
		dst = append(dst, r.Metadata...)
	} else {
		dst = append(dst, "{}"...)
	}
	return append(dst, '}')
}

func appendFloatOr(dst []byte, f *float64, def float64) []byte {
	if f == nil {
		return jsonw.Float(dst, def)
	}
	return jsonw.Float(dst, *f)
}

func appendFormat(dst []byte, f *llm.ResponseFormat) []byte {
	switch {
	case f == nil || f.Type == llm.FormatText || f.Type == "":
		return append(dst, `{"type":"text"}`...)
	case f.Type == llm.FormatJSONObject:
		return append(dst, `{"type":"json_object"}`...)
	}
	dst = append(dst, `{"type":"json_schema","name":`...)
	dst = jsonw.String(dst, f.Name)
	if f.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonw.String(dst, f.Description)
	}
	dst = append(dst, `,"schema":`...)
	dst = jsonw.Raw(dst, f.Schema)
	dst = append(dst, `,"strict":`...)
	dst = jsonw.Bool(dst, f.Strict)
	return append(dst, '}')
}

func appendToolChoice(dst []byte, tc llm.ToolChoice) []byte {
	switch tc.Mode {
	case llm.ToolChoiceNone:
		return append(dst, `"none"`...)
	case llm.ToolChoiceRequired:
		return append(dst, `"required"`...)
	case llm.ToolChoiceFunction:
		dst = append(dst, `{"type":"function","name":`...)
		dst = jsonw.String(dst, tc.Name)
		return append(dst, '}')
	}
	return append(dst, `"auto"`...)
}

// appendUsage writes ResponseUsage: the canonical counts already have OpenAI's arithmetic
// (cached tokens inside input, reasoning tokens inside output).
func appendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, u.InputTokens)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = jsonw.Int(dst, u.CacheReadTokens)
	if w := u.CacheWriteTokens + u.CacheWrite1hTokens; w > 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = jsonw.Int(dst, w)
	}
	dst = append(dst, `},"output_tokens":`...)
	dst = jsonw.Int(dst, u.OutputTokens)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.Int(dst, u.ReasoningTokens)
	dst = append(dst, `},"total_tokens":`...)
	dst = jsonw.Int(dst, u.TotalTokens())
	return append(dst, '}')
}

// appendFailure writes a failed response's error: {"code","message"}.
func appendFailure(dst []byte, e *llm.UpstreamError) []byte {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	if code == "" {
		code = "server_error"
	}
	msg := e.Message
	if msg == "" {
		msg = "the provider failed"
	}
	dst = append(dst, `{"code":`...)
	dst = jsonw.String(dst, code)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, msg)
	return append(dst, '}')
}

// appendItem writes an output item, complete (done) or as it is first announced.
func appendItem(dst []byte, it *item, done bool, namespaces map[string]string) []byte {
	status := `"completed"`
	if !done {
		status = `"in_progress"`
	}
	switch it.kind {
	case itemReasoning:
		dst = append(dst, `{"id":`...)
		dst = jsonw.String(dst, it.id)
		dst = append(dst, `,"type":"reasoning","summary":[`...)
		if done && it.text != "" {
			dst = append(dst, `{"type":"summary_text","text":`...)
			dst = jsonw.String(dst, it.text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		if tok := replayToken(it.reasoning.Signature, it.reasoning.Redacted); done && tok != "" {
			dst = append(dst, `,"encrypted_content":`...)
			dst = jsonw.String(dst, tok)
		}
		return append(dst, '}')
	case itemCustomCall:
		dst = append(dst, `{"id":`...)
		dst = jsonw.String(dst, it.id)
		dst = append(dst, `,"type":"custom_tool_call","status":`...)
		dst = append(dst, status...)
		dst = append(dst, `,"call_id":`...)
		dst = jsonw.String(dst, it.call.ID)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, it.call.Name)
		dst = append(dst, `,"input":`...)
		if done {
			dst = appendCustomInput(dst, argsText(it.args))
		} else {
			dst = append(dst, `""`...)
		}
		return append(dst, '}')
	case itemCall:
		dst = append(dst, `{"id":`...)
		dst = jsonw.String(dst, it.id)
		dst = append(dst, `,"type":"function_call","status":`...)
		dst = append(dst, status...)
		dst = append(dst, `,"arguments":`...)
		if done {
			dst = jsonw.String(dst, argsText(it.args))
		} else {
			dst = append(dst, `""`...)
		}
		dst = append(dst, `,"call_id":`...)
		dst = jsonw.String(dst, it.call.ID)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, it.call.Name)
		if ns := namespaces[it.call.Name]; ns != "" {
			dst = append(dst, `,"namespace":`...)
			dst = jsonw.String(dst, ns)
		}
		return append(dst, '}')
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, it.id)
	dst = append(dst, `,"type":"message","status":`...)
	dst = append(dst, status...)
	dst = append(dst, `,"role":"assistant","content":[`...)
	if done {
		dst = appendTextPart(dst, it.text)
	}
	return append(dst, "]}"...)
}

func appendTextPart(dst []byte, text string) []byte {
	dst = append(dst, `{"type":"output_text","text":`...)
	dst = jsonw.String(dst, text)
	return append(dst, `,"annotations":[],"logprobs":[]}`...)
}

// argsText is a call's arguments as the wire's JSON string holds them: "{}" when none.
func argsText(args []byte) []byte {
	if len(jsonw.TrimSpace(args)) == 0 {
		return []byte("{}")
	}
	return args
}
