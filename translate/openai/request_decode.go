package openai

import (
	"fmt"
	"math"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// DecodeRequest decodes a Chat Completions request body into a canonical request; see
// DecodeRequestOptions.
func DecodeRequest(body []byte) (*llm.Request, error) {
	req, _, err := DecodeRequestOptions(body)
	return req, err
}

// DecodeRequestOptions decodes a Chat Completions request body, sent by a client of tracegate's
// /v1/chat/completions, for a target that does not speak this format. includeUsage reports
// whether the client asked for the streamed usage chunk (stream_options.include_usage).
//
// The model name is returned as given, routing prefix included. Tool messages get ToolName from
// the assistant tool call they answer, since other formats need it. Every error wraps
// llm.ErrInvalidRequest and names the offending parameter:
//   - rejected, because the reply would silently differ: n > 1, logprobs, top_logprobs, audio,
//     non-text modalities, prediction, logit_bias, non-zero frequency/presence penalties,
//     functions/function_call, web_search_options, non-text content parts, custom tools and
//     allowed_tools tool choices;
//   - ignored, because they are hints with no canonical field: seed, metadata, store,
//     service_tier, reasoning_effort, verbosity, prompt_cache_key, safety_identifier,
//     stream_options.include_obfuscation and message names.
func DecodeRequestOptions(body []byte) (req *llm.Request, includeUsage bool, err error) {
	p := parsers.Get()
	defer parsers.Put(p)
	// Validate strictly first: the parser tolerates NaN and other non-JSON numbers.
	if err := fastjson.ValidateBytes(body); err != nil {
		return nil, false, invalidf("body is not valid JSON: %s", err)
	}
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, false, invalidf("body is not valid JSON: %s", err)
	}
	o, err := v.Object()
	if err != nil {
		return nil, false, invalidf("body must be a JSON object")
	}
	d := requestDecoder{req: &llm.Request{}}
	o.Visit(func(key []byte, val *fastjson.Value) {
		if d.err == nil {
			d.field(string(key), val)
		}
	})
	if d.err != nil {
		return nil, false, d.err
	}
	if d.req.Model == "" {
		return nil, false, invalidf("model is required")
	}
	if len(d.req.Messages) == 0 {
		return nil, false, invalidf("messages must not be empty")
	}
	if d.maxCompletion > 0 {
		d.req.MaxTokens = d.maxCompletion
	}
	d.resolveToolNames()
	return d.req, d.includeUsage && d.req.Stream, nil
}

type requestDecoder struct {
	req           *llm.Request
	maxCompletion int
	includeUsage  bool
	err           error
}

func (d *requestDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = invalidf(format, args...)
	}
}

func (d *requestDecoder) field(key string, v *fastjson.Value) {
	if v.Type() == fastjson.TypeNull {
		return // null means "not set" for every optional parameter
	}
	switch key {
	case "model":
		d.req.Model = d.stringValue(key, v)
	case "messages":
		d.messages(v)
	case "tools":
		d.tools(v)
	case "tool_choice":
		d.toolChoice(v)
	case "parallel_tool_calls":
		b := d.boolValue(key, v)
		d.req.ParallelToolCalls = &b
	case "response_format":
		d.responseFormat(v)
	case "temperature":
		f := d.floatValue(key, v)
		d.req.Temperature = &f
	case "top_p":
		f := d.floatValue(key, v)
		d.req.TopP = &f
	case "max_tokens":
		if d.req.MaxTokens == 0 {
			d.req.MaxTokens = d.intValue(key, v)
		}
	case "max_completion_tokens":
		d.maxCompletion = d.intValue(key, v)
	case "stop":
		d.stop(v)
	case "n":
		if n := d.intValue(key, v); n != 1 && d.err == nil {
			d.fail("unsupported parameter n=%d: only one choice can be translated", n)
		}
	case "stream":
		d.req.Stream = d.boolValue(key, v)
	case "stream_options":
		if v.Type() != fastjson.TypeObject {
			d.fail("stream_options must be an object")
			return
		}
		if iu := v.Get("include_usage"); !isNull(iu) {
			d.includeUsage = d.boolValue("stream_options.include_usage", iu)
		}
	case "user":
		d.req.User = d.stringValue(key, v)
	case "logprobs":
		if d.boolValue(key, v) {
			d.fail("unsupported parameter logprobs")
		}
	case "frequency_penalty", "presence_penalty":
		if d.floatValue(key, v) != 0 {
			d.fail("unsupported parameter %s", key)
		}
	case "logit_bias":
		if v.Type() != fastjson.TypeObject || v.GetObject().Len() > 0 {
			d.fail("unsupported parameter logit_bias")
		}
	case "modalities":
		for _, m := range v.GetArray() {
			if string(m.GetStringBytes()) != "text" {
				d.fail("unsupported parameter modalities: only text output can be translated")
			}
		}
	case "top_logprobs", "audio", "prediction", "functions", "function_call", "web_search_options":
		d.fail("unsupported parameter %s", key)
	}
}

func (d *requestDecoder) stringValue(name string, v *fastjson.Value) string {
	b, err := v.StringBytes()
	if err != nil {
		d.fail("%s must be a string", name)
		return ""
	}
	return string(b)
}

func (d *requestDecoder) boolValue(name string, v *fastjson.Value) bool {
	b, err := v.Bool()
	if err != nil {
		d.fail("%s must be a boolean", name)
	}
	return b
}

func (d *requestDecoder) floatValue(name string, v *fastjson.Value) float64 {
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail("%s must be a number", name)
		return 0
	}
	return f
}

func (d *requestDecoder) intValue(name string, v *fastjson.Value) int {
	f := d.floatValue(name, v)
	if f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
		d.fail("%s must be a non-negative integer", name)
		return 0
	}
	return int(f)
}

func (d *requestDecoder) stop(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeString:
		d.req.Stop = []string{string(v.GetStringBytes())}
	case fastjson.TypeArray:
		for i, s := range v.GetArray() {
			d.req.Stop = append(d.req.Stop, d.stringValue(fmt.Sprintf("stop[%d]", i), s))
		}
	default:
		d.fail("stop must be a string or an array of strings")
	}
}

func (d *requestDecoder) messages(v *fastjson.Value) {
	arr, err := v.Array()
	if err != nil {
		d.fail("messages must be an array")
		return
	}
	d.req.Messages = make([]llm.Message, 0, len(arr))
	for i, mv := range arr {
		if mv.Type() != fastjson.TypeObject {
			d.fail("messages[%d] must be an object", i)
			return
		}
		m := llm.Message{Role: llm.Role(mv.GetStringBytes("role"))}
		if !m.Role.Valid() {
			d.fail("messages[%d]: unsupported role %q", i, m.Role)
			return
		}
		d.content(i, &m, mv.Get("content"))
		if m.Role == llm.RoleAssistant {
			d.assistantToolCalls(i, &m, mv)
		} else if !isNull(mv.Get("tool_calls")) {
			d.fail("messages[%d]: only assistant messages may carry tool_calls", i)
		}
		if m.Role == llm.RoleTool {
			m.ToolCallID = string(mv.GetStringBytes("tool_call_id"))
			if m.ToolCallID == "" {
				d.fail("messages[%d].tool_call_id is required for tool messages", i)
			}
		}
		if !isNull(mv.Get("audio")) {
			d.fail("messages[%d]: unsupported parameter audio", i)
		}
		if !isNull(mv.Get("function_call")) {
			d.fail("messages[%d]: unsupported parameter function_call", i)
		}
		if d.err != nil {
			return
		}
		d.req.Messages = append(d.req.Messages, m)
	}
}

// content reads message content: a string, an array of text parts, or null.
func (d *requestDecoder) content(i int, m *llm.Message, c *fastjson.Value) {
	if isNull(c) {
		return
	}
	switch c.Type() {
	case fastjson.TypeString:
		m.Parts = append(m.Parts, llm.TextPart(string(c.GetStringBytes())))
	case fastjson.TypeArray:
		for j, part := range c.GetArray() {
			switch typ := string(part.GetStringBytes("type")); typ {
			case "text":
				m.Parts = append(m.Parts, llm.TextPart(d.stringValue(fmt.Sprintf("messages[%d].content[%d].text", i, j), orNull(part.Get("text")))))
			case "refusal":
				m.Parts = append(m.Parts, llm.TextPart(d.stringValue(fmt.Sprintf("messages[%d].content[%d].refusal", i, j), orNull(part.Get("refusal")))))
			default:
				d.fail("messages[%d].content[%d]: unsupported content part type %q", i, j, typ)
				return
			}
		}
	default:
		d.fail("messages[%d].content must be a string, an array of parts or null", i)
	}
}

var jsonNull = fastjson.MustParse("null")

// orNull lets a missing field be reported by the type checks rather than crash them.
func orNull(v *fastjson.Value) *fastjson.Value {
	if v == nil {
		return jsonNull
	}
	return v
}

func (d *requestDecoder) assistantToolCalls(i int, m *llm.Message, mv *fastjson.Value) {
	tcs := mv.Get("tool_calls")
	if isNull(tcs) {
		return
	}
	arr, err := tcs.Array()
	if err != nil {
		d.fail("messages[%d].tool_calls must be an array", i)
		return
	}
	for j, tc := range arr {
		if typ := tc.GetStringBytes("type"); typ != nil && string(typ) != "function" {
			d.fail("messages[%d].tool_calls[%d]: unsupported tool call type %q", i, j, typ)
			return
		}
		fn := tc.Get("function")
		if fn == nil || fn.Type() != fastjson.TypeObject {
			d.fail("messages[%d].tool_calls[%d].function is required", i, j)
			return
		}
		call := llm.ToolCall{ID: string(tc.GetStringBytes("id")), Name: string(fn.GetStringBytes("name"))}
		if call.Name == "" {
			d.fail("messages[%d].tool_calls[%d].function.name is required", i, j)
			return
		}
		args, err := parseArguments(fn.Get("arguments"))
		if err != nil {
			d.fail("messages[%d].tool_calls[%d].function.arguments: %s", i, j, err)
			return
		}
		call.Arguments = args
		m.Parts = append(m.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: call})
	}
}

// resolveToolNames gives each tool message the name of the call it answers.
func (d *requestDecoder) resolveToolNames() {
	var names map[string]string
	for i := range d.req.Messages {
		m := &d.req.Messages[i]
		switch m.Role {
		case llm.RoleAssistant:
			for j := range m.Parts {
				if c := &m.Parts[j].ToolCall; m.Parts[j].Type == llm.PartToolCall && c.ID != "" {
					if names == nil {
						names = make(map[string]string)
					}
					names[c.ID] = c.Name
				}
			}
		case llm.RoleTool:
			if m.ToolName == "" {
				m.ToolName = names[m.ToolCallID]
			}
		}
	}
}

func (d *requestDecoder) tools(v *fastjson.Value) {
	arr, err := v.Array()
	if err != nil {
		d.fail("tools must be an array")
		return
	}
	for i, tv := range arr {
		if typ := string(tv.GetStringBytes("type")); typ != "function" {
			d.fail("tools[%d]: unsupported tool type %q", i, typ)
			return
		}
		fn := tv.Get("function")
		if fn == nil || fn.Type() != fastjson.TypeObject {
			d.fail("tools[%d].function is required", i)
			return
		}
		t := llm.Tool{Name: string(fn.GetStringBytes("name")), Description: string(fn.GetStringBytes("description"))}
		if t.Name == "" {
			d.fail("tools[%d].function.name is required", i)
			return
		}
		if p := fn.Get("parameters"); !isNull(p) {
			if p.Type() != fastjson.TypeObject {
				d.fail("tools[%d].function.parameters must be an object", i)
				return
			}
			raw, err := jsonw.Value(nil, p)
			if err != nil {
				d.fail("tools[%d].function.parameters: %s", i, err)
				return
			}
			t.Parameters = raw
		}
		if s := fn.Get("strict"); !isNull(s) {
			t.Strict = d.boolValue(fmt.Sprintf("tools[%d].function.strict", i), s)
		}
		d.req.Tools = append(d.req.Tools, t)
	}
}

func (d *requestDecoder) toolChoice(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeString:
		switch mode := llm.ToolChoiceMode(v.GetStringBytes()); mode {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			d.req.ToolChoice = llm.ToolChoice{Mode: mode}
		default:
			d.fail("tool_choice: unsupported value %q", mode)
		}
	case fastjson.TypeObject:
		if typ := string(v.GetStringBytes("type")); typ != "function" {
			d.fail("tool_choice: unsupported type %q", typ)
			return
		}
		name := string(v.GetStringBytes("function", "name"))
		if name == "" {
			d.fail("tool_choice.function.name is required")
			return
		}
		d.req.ToolChoice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: name}
	default:
		d.fail("tool_choice must be a string or an object")
	}
}

func (d *requestDecoder) responseFormat(v *fastjson.Value) {
	if v.Type() != fastjson.TypeObject {
		d.fail("response_format must be an object")
		return
	}
	switch typ := llm.ResponseFormatType(v.GetStringBytes("type")); typ {
	case llm.FormatText, llm.FormatJSONObject:
		d.req.ResponseFormat = &llm.ResponseFormat{Type: typ}
	case llm.FormatJSONSchema:
		js := v.Get("json_schema")
		if js == nil || js.Type() != fastjson.TypeObject {
			d.fail("response_format.json_schema is required for type json_schema")
			return
		}
		f := &llm.ResponseFormat{
			Type:        typ,
			Name:        string(js.GetStringBytes("name")),
			Description: string(js.GetStringBytes("description")),
		}
		if s := js.Get("schema"); !isNull(s) {
			if s.Type() != fastjson.TypeObject {
				d.fail("response_format.json_schema.schema must be an object")
				return
			}
			raw, err := jsonw.Value(nil, s)
			if err != nil {
				d.fail("response_format.json_schema.schema: %s", err)
				return
			}
			f.Schema = raw
		}
		if s := js.Get("strict"); !isNull(s) {
			f.Strict = d.boolValue("response_format.json_schema.strict", s)
		}
		d.req.ResponseFormat = f
	default:
		d.fail("response_format: unsupported type %q", typ)
	}
}
