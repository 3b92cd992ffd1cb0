package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/tracegate/tracegate/internal/jsonscan"
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// The inbound files (inbound_*.go) serve the other wire direction from the rest of this
// package: a caller speaking the Messages API to tracegate. They decode a caller's Messages
// request into an llm.Request and encode canonical replies and streams back as Messages
// replies and events, so that a Messages request can be served by a provider of another
// format. They share the package's usage, stop-reason and error rules with the outbound side.

// Bounds on an inbound request, so a hostile body cannot make the decoder allocate without
// limit beyond the body's own size.
const (
	maxInboundMessages = 10000
	maxInboundBlocks   = 10000
	maxInboundTools    = 1000
	maxStopSequences   = 100
)

// MessagesRequestInfo is what the proxy needs from a Messages body before choosing a target.
type MessagesRequestInfo struct {
	Model  string
	Stream bool
	// UserID is metadata.user_id, the caller's end-user id. Claude Code's JSON form
	// ({"device_id","account_uuid","session_id"}) yields the account (else device) id, and
	// the session id as SessionID.
	UserID    string
	SessionID string
}

// ScanMessagesRequest reads model, stream and metadata.user_id from a Messages request body.
// Errors wrap llm.ErrInvalidRequest.
//
// It walks the body's top-level members without decoding the rest (internal/jsonscan), as
// the chat passthrough does: Claude Code sends its whole conversation, system prompt and tool
// definitions with every turn (~100 KB), and a parse of all of it was ~20 µs per request for
// three members. Like that scan, it checks the body's structure, not the grammar of its
// numbers and literals, which the provider checks. A member given twice counts as its first
// value, as it did when the body was parsed with fastjson, and as DecodeMessagesRequest reads
// it for a target the body is translated for.
func ScanMessagesRequest(body []byte) (MessagesRequestInfo, error) {
	var info MessagesRequestInfo
	s, ok := jsonscan.NewObject(body, 0)
	if !ok {
		return info, invalid("body must be a JSON object")
	}
	var model, stream, metadata []byte
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		// A member met twice is refused (see jsonscan.Seen): the first would have been used.
		switch v := body[m.Start:m.End]; {
		case jsonscan.KeyIs(m.Key, "model"):
			if model != nil {
				return info, invalid("model: given more than once")
			}
			model = v
		case jsonscan.KeyIs(m.Key, "stream"):
			if stream != nil {
				return info, invalid("stream: given more than once")
			}
			stream = v
		case jsonscan.KeyIs(m.Key, "metadata"):
			if metadata != nil {
				return info, invalid("metadata: given more than once")
			}
			metadata = v
		}
	}
	if !s.Finish() {
		return info, invalid("body is not valid JSON")
	}
	if len(model) < 3 || model[0] != '"' {
		return info, invalid("model: a non-empty string is required")
	}
	if raw := model[1 : len(model)-1]; bytes.IndexByte(raw, '\\') < 0 {
		info.Model = bodyNames.Bytes(raw)
	} else if info.Model, ok = jsonscan.Unquote(raw); !ok || info.Model == "" {
		return info, invalid("model: a non-empty string is required")
	}
	switch string(stream) {
	case "true":
		info.Stream = true
	case "", "false", "null":
	default:
		return info, invalid("stream: must be a boolean")
	}
	if user, ok := metadataUserID(metadata); ok {
		info.UserID, info.SessionID = userOf(user)
	}
	return info, nil
}

// metadataUserID is the unquoted metadata.user_id of a metadata member's raw value; false
// when there is none or it is not a string.
func metadataUserID(metadata []byte) (string, bool) {
	s, ok := jsonscan.NewObject(metadata, 0)
	if !ok {
		return "", false
	}
	var id []byte
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		if id == nil && jsonscan.KeyIs(m.Key, "user_id") {
			id = metadata[m.Start:m.End]
		}
	}
	if s.Failed() || len(id) < 2 || id[0] != '"' {
		return "", false
	}
	return jsonscan.Unquote(id[1 : len(id)-1])
}

// userOf reads metadata.user_id. Claude Code's is a JSON object, {"device_id",
// "account_uuid","session_id"}: the account (else device) id is the user, and the session
// comes with it. Any other value is the user as it is.
func userOf(raw string) (user, session string) {
	if len(raw) == 0 || raw[0] != '{' {
		return raw, ""
	}
	sp := parserPool.Get()
	defer parserPool.Put(sp)
	u, err := sp.Parse(raw)
	if err != nil || u.Type() != fastjson.TypeObject {
		return raw, ""
	}
	user = firstNonEmpty(u.GetStringBytes("account_uuid"), u.GetStringBytes("device_id"))
	if user == "" {
		user = raw
	}
	return user, string(u.GetStringBytes("session_id"))
}

func firstNonEmpty(vals ...[]byte) string {
	for _, v := range vals {
		if len(v) > 0 {
			return string(v)
		}
	}
	return ""
}

// DecodeMessagesRequest decodes a Messages API request body (POST /v1/messages) into a
// canonical request. max_tokens is required as Anthropic requires it; forCount relaxes that
// for count_tokens bodies, which carry none. cache_control marks are dropped: they mean
// nothing to other providers. Errors wrap llm.ErrInvalidRequest.
func DecodeMessagesRequest(body []byte, forCount bool) (*llm.Request, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, invalid("body is not valid JSON: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, invalid("body must be a JSON object")
	}
	d := inboundDecoder{req: &llm.Request{}, names: map[string]string{}}
	d.decode(v, forCount)
	if d.err != nil {
		return nil, d.err
	}
	return d.req, nil
}

type inboundDecoder struct {
	req   *llm.Request
	err   error
	names map[string]string // tool_use id -> tool name, for tool results
}

func (d *inboundDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = invalid(format, args...)
	}
}

func (d *inboundDecoder) decode(v *fastjson.Value, forCount bool) {
	req := d.req
	req.Model = d.str(v, "model", true)
	if req.Model == "" && d.err == nil {
		d.fail("model: a non-empty string is required")
	}
	if n := v.Get("max_tokens"); n != nil {
		req.MaxTokens = d.positiveInt("max_tokens", n)
	} else if !forCount {
		d.fail("max_tokens: field required")
	}
	if s := v.Get("system"); s != nil {
		d.system(s)
	}
	msgs := v.Get("messages")
	if msgs == nil || msgs.Type() != fastjson.TypeArray {
		d.fail("messages: an array is required")
		return
	}
	d.messages(msgs.GetArray())
	if t := v.Get("tools"); t != nil && t.Type() != fastjson.TypeNull {
		d.tools(t)
	}
	if tc := v.Get("tool_choice"); tc != nil && tc.Type() != fastjson.TypeNull {
		d.toolChoice(tc)
	}
	if s := v.Get("stop_sequences"); s != nil && s.Type() != fastjson.TypeNull {
		arr, err := s.Array()
		if err != nil || len(arr) > maxStopSequences {
			d.fail("stop_sequences: an array of at most %d strings is required", maxStopSequences)
		}
		for i, e := range arr {
			b, err := e.StringBytes()
			if err != nil {
				d.fail("stop_sequences.%d: must be a string", i)
				break
			}
			req.Stop = append(req.Stop, string(b))
		}
	}
	req.Temperature = d.float(v, "temperature")
	req.TopP = d.float(v, "top_p")
	if k := v.Get("top_k"); k != nil && k.Type() != fastjson.TypeNull {
		n := d.positiveInt("top_k", k)
		req.TopK = &n
	}
	if s := v.Get("stream"); s != nil {
		req.Stream = s.Type() == fastjson.TypeTrue
	}
	if t := v.Get("thinking"); t != nil && t.Type() != fastjson.TypeNull {
		d.thinking(t)
	}
	for _, key := range [...]string{"output_config", "output_format"} {
		f := v.Get(key)
		if key == "output_config" {
			f = v.Get(key, "format")
		}
		if f != nil && f.Type() != fastjson.TypeNull {
			d.outputFormat(key, f)
		}
	}
	req.User, _ = userOf(string(v.GetStringBytes("metadata", "user_id")))
}

// outputFormat reads structured output: output_config.format (or the older output_format),
// {"type":"json_schema","schema":{...}}.
func (d *inboundDecoder) outputFormat(key string, f *fastjson.Value) {
	if typ := string(f.GetStringBytes("type")); typ != "json_schema" {
		d.fail("%s: format type must be json_schema, not %q", key, typ)
		return
	}
	schema := f.Get("schema")
	if schema == nil || schema.Type() != fastjson.TypeObject {
		d.fail("%s: schema must be an object", key)
		return
	}
	raw, err := jsonw.Value(nil, schema)
	if err != nil {
		d.fail("%s: schema: %v", key, err)
		return
	}
	d.req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "output", Schema: raw}
}

// str reads a string field; a missing one is "" (an error when required).
func (d *inboundDecoder) str(v *fastjson.Value, key string, required bool) string {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		if required {
			d.fail("%s: field required", key)
		}
		return ""
	}
	b, err := f.StringBytes()
	if err != nil {
		d.fail("%s: must be a string", key)
	}
	return string(b)
}

func (d *inboundDecoder) positiveInt(name string, v *fastjson.Value) int {
	n, err := v.Int()
	if err != nil || n < 1 {
		d.fail("%s: must be a positive integer", name)
	}
	return n
}

func (d *inboundDecoder) float(v *fastjson.Value, key string) *float64 {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil
	}
	x, err := f.Float64()
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		d.fail("%s: must be a non-negative number", key)
		return nil
	}
	return &x
}

// system reads the top-level system prompt: a string or an array of text blocks.
func (d *inboundDecoder) system(s *fastjson.Value) {
	m := llm.Message{Role: llm.RoleSystem}
	switch s.Type() {
	case fastjson.TypeNull:
		return
	case fastjson.TypeString:
		m.Parts = append(m.Parts, llm.TextPart(string(s.GetStringBytes())))
	case fastjson.TypeArray:
		for i, b := range s.GetArray() {
			if string(b.GetStringBytes("type")) != "text" {
				d.fail("system.%d: only text blocks are allowed", i)
				return
			}
			m.Parts = append(m.Parts, llm.TextPart(string(b.GetStringBytes("text"))))
		}
	default:
		d.fail("system: must be a string or an array of text blocks")
		return
	}
	if len(m.Parts) > 0 {
		d.req.Messages = append(d.req.Messages, m)
	}
}

func (d *inboundDecoder) messages(arr []*fastjson.Value) {
	if len(arr) == 0 {
		d.fail("messages: at least one message is required")
		return
	}
	if len(arr) > maxInboundMessages {
		d.fail("messages: at most %d messages are allowed", maxInboundMessages)
		return
	}
	for i, mv := range arr {
		if d.err != nil {
			return
		}
		if mv.Type() != fastjson.TypeObject {
			d.fail("messages.%d: must be an object", i)
			return
		}
		role := string(mv.GetStringBytes("role"))
		if role != "user" && role != "assistant" && role != "system" {
			d.fail("messages.%d.role: must be \"user\", \"assistant\" or \"system\"", i)
			return
		}
		c := mv.Get("content")
		switch {
		case c == nil:
			d.fail("messages.%d.content: field required", i)
		case role == "system":
			// Claude Code sends instructions mid-conversation as system messages.
			d.system(c)
		case c.Type() == fastjson.TypeString:
			r := llm.RoleUser
			if role == "assistant" {
				r = llm.RoleAssistant
			}
			d.req.Messages = append(d.req.Messages, llm.Message{Role: r, Parts: []llm.Part{llm.TextPart(string(c.GetStringBytes()))}})
		case c.Type() == fastjson.TypeArray:
			blocks := c.GetArray()
			if len(blocks) > maxInboundBlocks {
				d.fail("messages.%d.content: at most %d blocks are allowed", i, maxInboundBlocks)
				return
			}
			if role == "assistant" {
				d.assistant(i, blocks)
			} else if len(blocks) == 0 {
				// As Anthropic: only a final assistant turn may be empty.
				d.fail("messages.%d.content: a user turn needs at least one content block", i)
			} else {
				d.user(i, blocks)
			}
		default:
			d.fail("messages.%d.content: must be a string or an array of content blocks", i)
		}
	}
	if d.err == nil && !hasTurnWithContent(d.req.Messages) {
		// Only system turns, or turns whose blocks carry nothing a provider is sent.
		d.fail("messages: at least one user or assistant turn with content is required")
	}
}

func hasTurnWithContent(msgs []llm.Message) bool {
	for i := range msgs {
		if !msgs[i].Role.IsInstruction() && len(msgs[i].Parts) > 0 {
			return true
		}
	}
	return false
}

// assistant reads an assistant turn: text, tool_use and thinking blocks.
func (d *inboundDecoder) assistant(i int, blocks []*fastjson.Value) {
	m := llm.Message{Role: llm.RoleAssistant}
	for j, b := range blocks {
		switch t := string(b.GetStringBytes("type")); t {
		case "text":
			m.Parts = append(m.Parts, llm.TextPart(string(b.GetStringBytes("text"))))
		case "tool_use":
			call := llm.ToolCall{ID: string(b.GetStringBytes("id")), Name: string(b.GetStringBytes("name"))}
			if call.ID == "" || call.Name == "" {
				d.fail("messages.%d.content.%d: tool_use needs an id and a name", i, j)
				return
			}
			input := b.Get("input")
			if input == nil || input.Type() != fastjson.TypeObject {
				d.fail("messages.%d.content.%d.input: must be an object", i, j)
				return
			}
			args, err := jsonw.Value(nil, input)
			if err != nil {
				d.fail("messages.%d.content.%d.input: %v", i, j, err)
				return
			}
			call.Arguments = json.RawMessage(args)
			d.names[call.ID] = call.Name
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: call})
		case "thinking":
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{
				Text: string(b.GetStringBytes("thinking")), Signature: string(b.GetStringBytes("signature"))}})
		case "redacted_thinking":
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartReasoning, Reasoning: &llm.Reasoning{Redacted: string(b.GetStringBytes("data"))}})
		default:
			d.fail("messages.%d.content.%d: block type %q is not supported in an assistant turn", i, j, t)
			return
		}
	}
	d.req.Messages = append(d.req.Messages, m)
}

// user reads a user turn. Tool results become tool messages, in order; the other blocks in
// between are grouped into user messages, so the conversation's order is kept.
func (d *inboundDecoder) user(i int, blocks []*fastjson.Value) {
	var cur *llm.Message
	flush := func() {
		if cur != nil && len(cur.Parts) > 0 {
			d.req.Messages = append(d.req.Messages, *cur)
		}
		cur = nil
	}
	for j, b := range blocks {
		t := string(b.GetStringBytes("type"))
		if t == "tool_result" {
			flush()
			d.toolResult(i, j, b)
			if d.err != nil {
				return
			}
			continue
		}
		part, ok := d.userPart(i, j, t, b)
		if !ok {
			return
		}
		if cur == nil {
			cur = &llm.Message{Role: llm.RoleUser}
		}
		cur.Parts = append(cur.Parts, part)
	}
	flush()
}

// userPart reads a text or image block.
func (d *inboundDecoder) userPart(i, j int, t string, b *fastjson.Value) (llm.Part, bool) {
	switch t {
	case "text":
		return llm.TextPart(string(b.GetStringBytes("text"))), true
	case "image":
		src := b.Get("source")
		img := &llm.Image{}
		switch string(src.GetStringBytes("type")) {
		case "base64":
			img.MediaType, img.Data = string(src.GetStringBytes("media_type")), string(src.GetStringBytes("data"))
			if img.MediaType == "" || img.Data == "" {
				d.fail("messages.%d.content.%d.source: a base64 image needs media_type and data", i, j)
				return llm.Part{}, false
			}
		case "url":
			if img.URL = string(src.GetStringBytes("url")); img.URL == "" {
				d.fail("messages.%d.content.%d.source: a url image needs a url", i, j)
				return llm.Part{}, false
			}
		default:
			d.fail("messages.%d.content.%d.source.type: must be \"base64\" or \"url\"", i, j)
			return llm.Part{}, false
		}
		return llm.Part{Type: llm.PartImage, Image: img}, true
	}
	d.fail("messages.%d.content.%d: block type %q is not supported in a user turn", i, j, t)
	return llm.Part{}, false
}

func (d *inboundDecoder) toolResult(i, j int, b *fastjson.Value) {
	m := llm.Message{Role: llm.RoleTool, ToolCallID: string(b.GetStringBytes("tool_use_id"))}
	if m.ToolCallID == "" {
		d.fail("messages.%d.content.%d.tool_use_id: field required", i, j)
		return
	}
	m.ToolName = d.names[m.ToolCallID]
	m.IsError = b.GetBool("is_error")
	switch c := b.Get("content"); {
	case c == nil, c.Type() == fastjson.TypeNull:
		m.Parts = []llm.Part{llm.TextPart("")}
	case c.Type() == fastjson.TypeString:
		m.Parts = []llm.Part{llm.TextPart(string(c.GetStringBytes()))}
	case c.Type() == fastjson.TypeArray:
		for k, cb := range c.GetArray() {
			part, ok := d.userPart(i, j, string(cb.GetStringBytes("type")), cb)
			if !ok {
				d.err = fmt.Errorf("tool_result content %d: %w", k, d.err)
				return
			}
			m.Parts = append(m.Parts, part)
		}
		if len(m.Parts) == 0 {
			m.Parts = []llm.Part{llm.TextPart("")}
		}
	default:
		d.fail("messages.%d.content.%d.content: must be a string or an array of blocks", i, j)
		return
	}
	d.req.Messages = append(d.req.Messages, m)
}

func (d *inboundDecoder) tools(t *fastjson.Value) {
	arr, err := t.Array()
	if err != nil || len(arr) > maxInboundTools {
		d.fail("tools: an array of at most %d tools is required", maxInboundTools)
		return
	}
	for i, tv := range arr {
		if typ := string(tv.GetStringBytes("type")); typ != "" && typ != "custom" {
			// Server tools (web_search, bash_..., text_editor_...) run at Anthropic only.
			d.fail("tools.%d: tool type %q runs only on Anthropic; route this model to an Anthropic provider", i, typ)
			return
		}
		tool := llm.Tool{Name: string(tv.GetStringBytes("name")), Description: string(tv.GetStringBytes("description"))}
		if tool.Name == "" {
			d.fail("tools.%d.name: field required", i)
			return
		}
		if s := tv.Get("input_schema"); s != nil && s.Type() != fastjson.TypeNull {
			if s.Type() != fastjson.TypeObject {
				d.fail("tools.%d.input_schema: must be an object", i)
				return
			}
			schema, err := jsonw.Value(nil, s)
			if err != nil {
				d.fail("tools.%d.input_schema: %v", i, err)
				return
			}
			tool.Parameters = schema
		}
		tool.Strict = tv.GetBool("strict")
		d.req.Tools = append(d.req.Tools, tool)
	}
}

func (d *inboundDecoder) toolChoice(tc *fastjson.Value) {
	switch t := string(tc.GetStringBytes("type")); t {
	case "auto":
		d.req.ToolChoice.Mode = llm.ToolChoiceAuto
	case "any":
		d.req.ToolChoice.Mode = llm.ToolChoiceRequired
	case "none":
		d.req.ToolChoice.Mode = llm.ToolChoiceNone
	case "tool":
		d.req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: string(tc.GetStringBytes("name"))}
		if d.req.ToolChoice.Name == "" {
			d.fail("tool_choice.name: field required for type \"tool\"")
		}
	default:
		d.fail("tool_choice.type: must be auto, any, tool or none, not %q", t)
		return
	}
	if tc.GetBool("disable_parallel_tool_use") {
		f := false
		d.req.ParallelToolCalls = &f
	}
}

func (d *inboundDecoder) thinking(t *fastjson.Value) {
	switch typ := string(t.GetStringBytes("type")); typ {
	case "enabled":
		n := t.Get("budget_tokens")
		if n == nil {
			d.fail("thinking.budget_tokens: field required")
			return
		}
		d.req.Reasoning = &llm.ReasoningConfig{BudgetTokens: d.positiveInt("thinking.budget_tokens", n)}
	case "disabled":
		d.req.Reasoning = &llm.ReasoningConfig{Disabled: true}
	case "adaptive":
		// The model decides how much to think: nothing to pass on. Claude Code sends this on
		// every call; an effort forced onto the target would fail on models that do not reason.
	default:
		d.fail("thinking.type: must be enabled or disabled, not %q", typ)
	}
}
