package responses

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// Request is a decoded Responses request: the canonical request plus what the Responses API
// has beyond it, which the reply echoes or the gateway acts on.
type Request struct {
	LLM *llm.Request
	// PreviousResponseID continues an earlier response; the caller prepends that conversation.
	PreviousResponseID string
	Instructions       string
	// Metadata is the caller's metadata object as sent (nil when absent), echoed in the reply.
	Metadata json.RawMessage
	// Store is the caller's store flag (true when absent, as OpenAI defaults it).
	Store bool
	// DroppedTools names the tools the request declared that no translated target can run
	// (hosted tools: web_search, file_search, ...); they are left out, not refused.
	DroppedTools []string
	// Namespaces maps a flattened tool's name to the namespace it was declared in, so a call
	// to it goes back with its namespace.
	Namespaces map[string]string
	// CustomTools names the custom (free-form input) tools, sent as functions (custom.go).
	CustomTools map[string]bool
}

// Limits on what one request may hold, so a hostile body cannot make the decoder allocate
// without bound beyond the body itself.
const (
	maxItems = 10000
	maxTools = 1000
)

var parsers fastjson.ParserPool

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{llm.ErrInvalidRequest}, args...)...)
}

// DecodeRequest decodes a Responses request body for a target that does not speak the
// Responses API. Every error wraps llm.ErrInvalidRequest and names the parameter at fault.
// Hosted tools are dropped (see Request.DroppedTools) and input items of hosted tools
// (web_search_call, ...) skipped, because a client such as Codex sends them routinely and a
// 400 would break it; fields that are hints without a canonical counterpart (include,
// truncation, prompt_cache_key, service_tier, safety_identifier, background) are ignored.
func DecodeRequest(body []byte) (*Request, error) {
	if err := fastjson.ValidateBytes(body); err != nil {
		return nil, invalidf("body is not valid JSON: %s", err)
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, invalidf("body is not valid JSON: %s", err)
	}
	o, err := v.Object()
	if err != nil {
		return nil, invalidf("body must be a JSON object")
	}
	d := decoder{out: &Request{LLM: &llm.Request{}, Store: true}, callNames: map[string]string{}}
	o.Visit(func(key []byte, val *fastjson.Value) {
		if d.err == nil {
			d.field(string(key), val)
		}
	})
	if d.err != nil {
		return nil, d.err
	}
	r := d.out
	if r.LLM.Model == "" {
		return nil, invalidf("model is required")
	}
	if d.input != nil {
		d.decodeInput(d.input)
		if d.err != nil {
			return nil, d.err
		}
	}
	if r.Instructions != "" {
		sys := llm.Message{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart(r.Instructions)}}
		r.LLM.Messages = append([]llm.Message{sys}, r.LLM.Messages...)
	}
	return r, nil
}

type decoder struct {
	out       *Request
	input     *fastjson.Value
	callNames map[string]string // call_id -> function name, for tool results
	err       error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = invalidf(format, args...)
	}
}

func (d *decoder) str(name string, v *fastjson.Value) string {
	if v.Type() == fastjson.TypeNull {
		return ""
	}
	b, err := v.StringBytes()
	if err != nil {
		d.fail("%s must be a string", name)
		return ""
	}
	return string(b)
}

func (d *decoder) num(name string, v *fastjson.Value) (float64, bool) {
	if v.Type() == fastjson.TypeNull {
		return 0, false
	}
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail("%s must be a number", name)
		return 0, false
	}
	return f, true
}

func (d *decoder) field(key string, v *fastjson.Value) {
	r := d.out
	q := r.LLM
	switch key {
	case "model":
		q.Model = d.str(key, v)
	case "input":
		d.input = v // decoded after the other fields: nothing in it depends on them, but tools do
	case "instructions":
		r.Instructions = d.str(key, v)
	case "stream":
		q.Stream = d.boolean(key, v)
	case "previous_response_id":
		r.PreviousResponseID = d.str(key, v)
	case "store":
		if v.Type() != fastjson.TypeNull {
			r.Store = d.boolean(key, v)
		}
	case "metadata":
		if v.Type() == fastjson.TypeObject {
			r.Metadata = d.raw("metadata", v)
		} else if v.Type() != fastjson.TypeNull {
			d.fail("metadata must be an object")
		}
	case "user":
		q.User = d.str(key, v)
	case "max_output_tokens":
		if f, ok := d.num(key, v); ok {
			if f < 1 || f > math.MaxInt32 || f != math.Trunc(f) {
				d.fail("max_output_tokens must be a positive integer")
				return
			}
			q.MaxTokens = int(f)
		}
	case "temperature":
		if f, ok := d.num(key, v); ok {
			q.Temperature = &f
		}
	case "top_p":
		if f, ok := d.num(key, v); ok {
			q.TopP = &f
		}
	case "parallel_tool_calls":
		if v.Type() != fastjson.TypeNull {
			b := d.boolean(key, v)
			q.ParallelToolCalls = &b
		}
	case "tools":
		d.tools(v)
	case "tool_choice":
		d.toolChoice(v)
	case "text":
		d.text(v)
	case "reasoning":
		d.reasoning(v)
	}
}

// raw re-encodes a value the reply or the target needs as JSON.
func (d *decoder) raw(name string, v *fastjson.Value) json.RawMessage {
	b, err := jsonw.Value(nil, v)
	if err != nil {
		d.fail("%s: %v", name, err)
	}
	return b
}

func (d *decoder) boolean(name string, v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse, fastjson.TypeNull:
		return false
	}
	d.fail("%s must be a boolean", name)
	return false
}

func (d *decoder) tools(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	arr, err := v.Array()
	if err != nil {
		d.fail("tools must be an array")
		return
	}
	if len(arr) > maxTools {
		d.fail("tools has %d entries; at most %d are accepted", len(arr), maxTools)
		return
	}
	for i, t := range arr {
		d.tool(fmt.Sprintf("tools[%d]", i), t, "")
	}
}

func (d *decoder) tool(path string, t *fastjson.Value, namespace string) {
	if t.Type() != fastjson.TypeObject {
		d.fail("%s must be an object", path)
		return
	}
	typ := string(t.GetStringBytes("type"))
	switch typ {
	case "function":
		tool := llm.Tool{Name: string(t.GetStringBytes("name")), Description: string(t.GetStringBytes("description")),
			Strict: t.GetBool("strict")}
		if tool.Name == "" {
			d.fail("%s.name is required", path)
			return
		}
		if p := t.Get("parameters"); p != nil && p.Type() != fastjson.TypeNull {
			if p.Type() != fastjson.TypeObject {
				d.fail("%s.parameters must be an object", path)
				return
			}
			tool.Parameters = d.raw(path+".parameters", p)
		}
		if namespace != "" {
			if d.out.Namespaces == nil {
				d.out.Namespaces = map[string]string{}
			}
			d.out.Namespaces[tool.Name] = namespace
		}
		d.out.LLM.Tools = append(d.out.LLM.Tools, tool)
	case "custom":
		d.customTool(path, t)
	case "namespace":
		if namespace != "" {
			d.fail("%s: namespaces do not nest", path)
			return
		}
		ns := string(t.GetStringBytes("name"))
		inner := t.GetArray("tools")
		if len(inner) > maxTools {
			d.fail("%s.tools has too many entries", path)
			return
		}
		for i, it := range inner {
			d.tool(fmt.Sprintf("%s.tools[%d]", path, i), it, ns)
		}
	case "":
		d.fail("%s.type is required", path)
	default:
		name := typ
		if n := t.GetStringBytes("name"); len(n) > 0 {
			name = typ + ":" + string(n)
		}
		d.out.DroppedTools = append(d.out.DroppedTools, name)
	}
}

func (d *decoder) toolChoice(v *fastjson.Value) {
	q := d.out.LLM
	switch v.Type() {
	case fastjson.TypeNull:
		return
	case fastjson.TypeString:
		switch s := string(v.GetStringBytes()); s {
		case "auto":
			q.ToolChoice.Mode = llm.ToolChoiceAuto
		case "none":
			q.ToolChoice.Mode = llm.ToolChoiceNone
		case "required":
			q.ToolChoice.Mode = llm.ToolChoiceRequired
		default:
			d.fail("tool_choice %q: want auto, none, required or an object", s)
		}
	case fastjson.TypeObject:
		switch typ := string(v.GetStringBytes("type")); typ {
		case "function":
			name := string(v.GetStringBytes("name"))
			if name == "" {
				d.fail("tool_choice.name is required for type function")
				return
			}
			q.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: name}
		case "allowed_tools":
			if string(v.GetStringBytes("mode")) == "required" {
				q.ToolChoice.Mode = llm.ToolChoiceRequired
			} else {
				q.ToolChoice.Mode = llm.ToolChoiceAuto
			}
		default:
			// A hosted tool was forced; it was dropped, so the model chooses among the rest.
			q.ToolChoice.Mode = llm.ToolChoiceAuto
		}
	default:
		d.fail("tool_choice must be a string or an object")
	}
}

func (d *decoder) text(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	if v.Type() != fastjson.TypeObject {
		d.fail("text must be an object")
		return
	}
	f := v.Get("format")
	if f == nil || f.Type() == fastjson.TypeNull {
		return
	}
	if f.Type() != fastjson.TypeObject {
		d.fail("text.format must be an object")
		return
	}
	switch typ := string(f.GetStringBytes("type")); typ {
	case "text", "":
	case "json_object":
		d.out.LLM.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
	case "json_schema":
		rf := &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: string(f.GetStringBytes("name")),
			Description: string(f.GetStringBytes("description")), Strict: f.GetBool("strict")}
		s := f.Get("schema")
		if s == nil || s.Type() != fastjson.TypeObject {
			d.fail("text.format.schema must be an object")
			return
		}
		rf.Schema = d.raw("text.format.schema", s)
		d.out.LLM.ResponseFormat = rf
	default:
		d.fail("text.format.type %q: want text, json_object or json_schema", typ)
	}
}

func (d *decoder) reasoning(v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return
	}
	if v.Type() != fastjson.TypeObject {
		d.fail("reasoning must be an object")
		return
	}
	rc := &llm.ReasoningConfig{Effort: string(v.GetStringBytes("effort")), Summary: string(v.GetStringBytes("summary"))}
	switch rc.Effort {
	case "", "minimal", "low", "medium", "high", "xhigh":
	case "none":
		rc.Effort, rc.Disabled = "", true
	default:
		d.fail("reasoning.effort %q: want none, minimal, low, medium, high or xhigh", rc.Effort)
		return
	}
	if rc.Effort == "" && !rc.Disabled && rc.Summary == "" {
		return
	}
	d.out.LLM.Reasoning = rc
}

// decodeInput turns input (a string, or a list of items) into messages. Consecutive assistant
// items (reasoning, message, function_call) become one assistant turn, as the other formats
// carry them.
func (d *decoder) decodeInput(v *fastjson.Value) {
	q := d.out.LLM
	switch v.Type() {
	case fastjson.TypeString:
		q.Messages = append(q.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart(string(v.GetStringBytes()))}})
		return
	case fastjson.TypeArray:
	case fastjson.TypeNull:
		return
	default:
		d.fail("input must be a string or an array of items")
		return
	}
	items, _ := v.Array()
	if len(items) > maxItems {
		d.fail("input has %d items; at most %d are accepted", len(items), maxItems)
		return
	}
	for i, it := range items {
		if d.err != nil {
			return
		}
		d.item(i, it)
	}
}

// assistant returns the assistant turn that item i extends: the last message when it is one.
func (d *decoder) assistant() *llm.Message {
	msgs := d.out.LLM.Messages
	if n := len(msgs); n > 0 && msgs[n-1].Role == llm.RoleAssistant {
		return &msgs[n-1]
	}
	d.out.LLM.Messages = append(msgs, llm.Message{Role: llm.RoleAssistant})
	return &d.out.LLM.Messages[len(d.out.LLM.Messages)-1]
}

func (d *decoder) item(i int, it *fastjson.Value) {
	if it.Type() != fastjson.TypeObject {
		d.fail("input[%d] must be an object", i)
		return
	}
	typ := string(it.GetStringBytes("type"))
	if typ == "" && it.Exists("role") {
		typ = "message"
	}
	switch typ {
	case "message":
		d.message(i, it)
	case "function_call":
		callID := string(it.GetStringBytes("call_id"))
		name := string(it.GetStringBytes("name"))
		if callID == "" || name == "" {
			d.fail("input[%d]: a function_call needs call_id and name", i)
			return
		}
		args, err := argumentsObject(it.Get("arguments"))
		if err != nil {
			d.fail("input[%d].arguments: %v", i, err)
			return
		}
		d.callNames[callID] = name
		m := d.assistant()
		m.Parts = append(m.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: callID, Name: name, Arguments: args}})
	case "custom_tool_call":
		d.customCall(i, it)
	case "function_call_output", "custom_tool_call_output":
		callID := string(it.GetStringBytes("call_id"))
		if callID == "" {
			d.fail("input[%d].call_id is required", i)
			return
		}
		m := llm.Message{Role: llm.RoleTool, ToolCallID: callID, ToolName: d.callNames[callID]}
		out := it.Get("output")
		switch {
		case out == nil || out.Type() == fastjson.TypeNull:
			m.Parts = []llm.Part{llm.TextPart("")}
		case out.Type() == fastjson.TypeString:
			m.Parts = []llm.Part{llm.TextPart(string(out.GetStringBytes()))}
		case out.Type() == fastjson.TypeArray:
			m.Parts = d.contentParts(fmt.Sprintf("input[%d].output", i), out)
		default:
			d.fail("input[%d].output must be a string or an array of content", i)
			return
		}
		d.out.LLM.Messages = append(d.out.LLM.Messages, m)
	case "reasoning":
		r := llm.Reasoning{}
		var sb strings.Builder
		for _, s := range it.GetArray("summary") {
			sb.Write(s.GetStringBytes("text"))
		}
		if sb.Len() == 0 {
			for _, s := range it.GetArray("content") {
				sb.Write(s.GetStringBytes("text"))
			}
		}
		r.Text = sb.String()
		r.Signature, r.Redacted = splitReplayToken(string(it.GetStringBytes("encrypted_content")))
		if r.Signature == "" && r.Redacted == "" && r.Text == "" {
			return // nothing a target could replay
		}
		m := d.assistant()
		m.Parts = append(m.Parts, llm.Part{Type: llm.PartReasoning, Reasoning: &r})
	case "item_reference":
		d.fail("input[%d]: item_reference needs stored items, which translated routes do not keep; send the items themselves", i)
	case "":
		d.fail("input[%d].type is required", i)
	default:
		// Calls and results of hosted tools (web_search_call, local_shell_call, ...): no
		// translated target ran them, so there is nothing to replay.
	}
}

func (d *decoder) message(i int, it *fastjson.Value) {
	role := llm.Role(it.GetStringBytes("role"))
	switch role {
	case llm.RoleUser, llm.RoleSystem, llm.RoleDeveloper, llm.RoleAssistant:
	default:
		d.fail("input[%d].role %q: want user, system, developer or assistant", i, role)
		return
	}
	c := it.Get("content")
	var parts []llm.Part
	switch {
	case c == nil || c.Type() == fastjson.TypeNull:
	case c.Type() == fastjson.TypeString:
		parts = []llm.Part{llm.TextPart(string(c.GetStringBytes()))}
	case c.Type() == fastjson.TypeArray:
		parts = d.contentParts(fmt.Sprintf("input[%d].content", i), c)
	default:
		d.fail("input[%d].content must be a string or an array", i)
		return
	}
	if role == llm.RoleAssistant {
		m := d.assistant()
		m.Parts = append(m.Parts, parts...)
		return
	}
	d.out.LLM.Messages = append(d.out.LLM.Messages, llm.Message{Role: role, Parts: parts})
}

func (d *decoder) contentParts(path string, c *fastjson.Value) []llm.Part {
	arr, _ := c.Array()
	parts := make([]llm.Part, 0, len(arr))
	for j, p := range arr {
		switch typ := string(p.GetStringBytes("type")); typ {
		case "input_text", "output_text", "text":
			parts = append(parts, llm.TextPart(string(p.GetStringBytes("text"))))
		case "refusal":
			parts = append(parts, llm.TextPart(string(p.GetStringBytes("refusal"))))
		case "input_image":
			img, err := imageFrom(p)
			if err != nil {
				d.fail("%s[%d]: %v", path, j, err)
				return nil
			}
			parts = append(parts, llm.Part{Type: llm.PartImage, Image: img})
		default:
			d.fail("%s[%d].type %q: want input_text, output_text, refusal or input_image", path, j, typ)
			return nil
		}
	}
	return parts
}

// imageFrom reads an input_image part: a data: URL becomes inline bytes, an http(s) URL stays a
// URL. Uploaded files (file_id) live at OpenAI, where no translated target can reach them.
func imageFrom(p *fastjson.Value) (*llm.Image, error) {
	img := &llm.Image{Detail: string(p.GetStringBytes("detail"))}
	if img.Detail == "auto" {
		img.Detail = ""
	}
	u := string(p.GetStringBytes("image_url"))
	switch {
	case strings.HasPrefix(u, "data:"):
		meta, data, ok := strings.Cut(u[len("data:"):], ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, fmt.Errorf("image_url: a data URL must be base64 (data:<type>;base64,<data>)")
		}
		img.MediaType, img.Data = strings.TrimSuffix(meta, ";base64"), data
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		img.URL = u
	case len(p.GetStringBytes("file_id")) > 0:
		return nil, fmt.Errorf("file_id images are stored at OpenAI and cannot reach this model; send image_url")
	default:
		return nil, fmt.Errorf("image_url must be a data: or http(s) URL")
	}
	return img, nil
}

// argumentsObject turns a function_call's arguments (a JSON string holding an object) into the
// object itself, as the canonical ToolCall holds it.
func argumentsObject(a *fastjson.Value) (json.RawMessage, error) {
	if a == nil || a.Type() == fastjson.TypeNull {
		return json.RawMessage("{}"), nil
	}
	var text []byte
	switch a.Type() {
	case fastjson.TypeString:
		text = a.GetStringBytes()
	case fastjson.TypeObject:
		return jsonw.Value(nil, a)
	default:
		return nil, fmt.Errorf("must be a JSON string")
	}
	trimmed := jsonw.TrimSpace(text)
	if len(trimmed) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !jsonw.IsObject(trimmed) || !json.Valid(trimmed) {
		return nil, fmt.Errorf("must hold a JSON object")
	}
	return append(json.RawMessage(nil), trimmed...), nil
}
