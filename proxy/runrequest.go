package proxy

import (
	"fmt"
	"math"

	"github.com/tracegate/tracegate/internal/intern"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// runRequest is the body of POST /api/v1/prompts/{slug}/run. Every field is optional.
type runRequest struct {
	Variables    map[string]string
	Model        string
	Version      int
	Tags         []string
	UserID       string
	SessionID    string
	TraceID      string
	ParentSpanID string
	// Messages, when present, is the whole conversation and skips template rendering.
	Messages    []llm.Message
	HasMessages bool
}

// decodeRunRequest parses a run body. Errors wrap llm.ErrInvalidRequest and name the field.
func decodeRunRequest(body []byte) (*runRequest, error) {
	r := &runRequest{}
	if len(body) == 0 {
		return r, nil
	}
	p, v, err := parseBodyObject(body)
	defer bodyParsers.Put(p)
	if err != nil {
		return nil, err
	}
	obj, _ := v.Object()
	obj.Visit(func(key []byte, fv *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(key) {
		case "variables":
			r.Variables, err = decodeVariables(fv)
		case "model":
			r.Model, err = optString(fv, "model")
		case "version":
			r.Version, err = optVersion(fv)
		case "tags":
			r.Tags, err = optStrings(fv, "tags")
		case "userId":
			r.UserID, err = optString(fv, "userId")
		case "sessionId":
			r.SessionID, err = optString(fv, "sessionId")
		case "traceId":
			r.TraceID, err = optString(fv, "traceId")
		case "parentSpanId":
			r.ParentSpanID, err = optString(fv, "parentSpanId")
		case "messages":
			if fv.Type() != fastjson.TypeNull {
				r.Messages, err = decodeLocalMessages(fv)
				r.HasMessages = err == nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var bodyParsers fastjson.ParserPool

// parseBodyObject parses a request body that must be a JSON object, with a parser from
// bodyParsers that the caller puts back once done with v. Errors wrap llm.ErrInvalidRequest.
func parseBodyObject(body []byte) (p *fastjson.Parser, v *fastjson.Value, err error) {
	p = bodyParsers.Get()
	if v, err = p.ParseBytes(body); err != nil {
		return p, nil, invalid("malformed JSON body: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return p, nil, invalid("body must be a JSON object")
	}
	return p, v, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, llm.ErrInvalidRequest)...)
}

func optString(v *fastjson.Value, field string) (string, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return "", nil
	case fastjson.TypeString:
		return string(v.GetStringBytes()), nil
	}
	return "", invalid("%s must be a string", field)
}

func optStrings(v *fastjson.Value, field string) ([]string, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	arr, err := v.Array()
	if err != nil {
		return nil, invalid("%s must be an array of strings", field)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if e.Type() != fastjson.TypeString {
			return nil, invalid("%s must be an array of strings", field)
		}
		out = append(out, string(e.GetStringBytes()))
	}
	return out, nil
}

func optVersion(v *fastjson.Value) (int, error) {
	if v.Type() == fastjson.TypeNull {
		return 0, nil
	}
	f, err := v.Float64()
	if err != nil || f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
		return 0, invalid("version must be a positive integer")
	}
	return int(f), nil
}

func decodeVariables(v *fastjson.Value) (map[string]string, error) {
	if v.Type() == fastjson.TypeNull {
		return nil, nil
	}
	obj, err := v.Object()
	if err != nil {
		return nil, invalid("variables must be an object of strings")
	}
	vars := make(map[string]string, obj.Len())
	obj.Visit(func(k []byte, fv *fastjson.Value) {
		if err != nil {
			return
		}
		if fv.Type() != fastjson.TypeString {
			err = invalid("variables.%s must be a string", k)
			return
		}
		vars[variableNames.Bytes(k)] = string(fv.GetStringBytes())
	})
	return vars, err
}

// variableNames interns variable names: a prompt's runs send the same few, and every run's
// spans keep them.
var variableNames = intern.New(1024)

// decodeLocalMessages parses Tracia LocalPromptMessages.
func decodeLocalMessages(v *fastjson.Value) ([]llm.Message, error) {
	arr, err := v.Array()
	if err != nil {
		return nil, invalid("messages must be an array")
	}
	if len(arr) == 0 {
		return nil, invalid("messages must not be empty")
	}
	out := make([]llm.Message, 0, len(arr))
	for i, mv := range arr {
		m, err := decodeLocalMessage(mv, i)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func decodeLocalMessage(v *fastjson.Value, i int) (llm.Message, error) {
	var m llm.Message
	if v.Type() != fastjson.TypeObject {
		return m, invalid("messages[%d] must be an object", i)
	}
	role := llm.Role(v.GetStringBytes("role"))
	if !role.Valid() {
		return m, invalid("messages[%d].role %q must be system, developer, user, assistant or tool", i, role)
	}
	m.Role = role
	var err error
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"toolCallId", &m.ToolCallID}, {"toolName", &m.ToolName}} {
		if fv := v.Get(f.name); fv != nil {
			if *f.dst, err = optString(fv, fmt.Sprintf("messages[%d].%s", i, f.name)); err != nil {
				return m, err
			}
		}
	}
	content := v.Get("content")
	switch {
	case content == nil || content.Type() == fastjson.TypeNull:
		if role != llm.RoleAssistant {
			return m, invalid("messages[%d].content is required", i)
		}
	case content.Type() == fastjson.TypeString:
		m.Parts = []llm.Part{llm.TextPart(string(content.GetStringBytes()))}
	case content.Type() == fastjson.TypeArray:
		parts, _ := content.Array()
		for j, pv := range parts {
			part, err := decodeLocalPart(pv, i, j)
			if err != nil {
				return m, err
			}
			if part.Type == llm.PartToolCall && role != llm.RoleAssistant {
				return m, invalid("messages[%d].content[%d]: only assistant messages carry tool calls", i, j)
			}
			m.Parts = append(m.Parts, part)
		}
	default:
		return m, invalid("messages[%d].content must be a string or an array of parts", i)
	}
	if role == llm.RoleTool && m.ToolCallID == "" {
		return m, invalid("messages[%d]: a tool message needs toolCallId", i)
	}
	return m, nil
}

func decodeLocalPart(v *fastjson.Value, i, j int) (llm.Part, error) {
	switch string(v.GetStringBytes("type")) {
	case "text":
		t := v.Get("text")
		if t == nil || t.Type() != fastjson.TypeString {
			return llm.Part{}, invalid("messages[%d].content[%d].text must be a string", i, j)
		}
		return llm.TextPart(string(t.GetStringBytes())), nil
	case "tool_call":
		id, name := string(v.GetStringBytes("id")), string(v.GetStringBytes("name"))
		if id == "" || name == "" {
			return llm.Part{}, invalid("messages[%d].content[%d]: a tool_call part needs id and name", i, j)
		}
		args := []byte("{}")
		if a := v.Get("arguments"); a != nil {
			switch a.Type() {
			case fastjson.TypeObject:
				args = a.MarshalTo(nil)
			case fastjson.TypeString:
				// Some clients send OpenAI-style argument strings; accept them when they hold an object.
				inner, err := fastjson.ParseBytes(a.GetStringBytes())
				if err != nil || inner.Type() != fastjson.TypeObject {
					return llm.Part{}, invalid("messages[%d].content[%d].arguments must be a JSON object", i, j)
				}
				args = inner.MarshalTo(nil)
			case fastjson.TypeNull:
			default:
				return llm.Part{}, invalid("messages[%d].content[%d].arguments must be a JSON object", i, j)
			}
		}
		return llm.Part{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: id, Name: name, Arguments: args}}, nil
	}
	return llm.Part{}, invalid("messages[%d].content[%d].type must be text or tool_call", i, j)
}
