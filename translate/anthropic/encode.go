package anthropic

import (
	"fmt"
	"math"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// EncodeOptions tunes EncodeRequestWith.
type EncodeOptions struct {
	// ForceToolForJSON asks for JSON output by forcing a call to a synthetic tool (named
	// JSONToolName) whose input schema is the wanted schema, instead of output_config.format.
	// Use it for models without native structured output. The decoders turn that call back
	// into reply text with finish reason stop. It overrides the request's ToolChoice, and the
	// schema must describe an object, as every Anthropic tool input does.
	ForceToolForJSON bool
}

// objectSchema is the schema used when a tool or response format gives none.
const objectSchema = `{"type":"object"}`

// EncodeRequest appends the Messages API body for req to dst.
func EncodeRequest(dst []byte, req *llm.Request) ([]byte, error) {
	return EncodeRequestWith(dst, req, EncodeOptions{})
}

// EncodeRequestWith is EncodeRequest with options. On error dst is returned unchanged in length;
// every error it returns wraps llm.ErrInvalidRequest, because only the request can be at fault.
func EncodeRequestWith(dst []byte, req *llm.Request, opts EncodeOptions) ([]byte, error) {
	mark := len(dst)
	out, err := encodeRequest(dst, req, opts)
	if err != nil {
		return dst[:mark], fmt.Errorf("encode anthropic request: %w", err)
	}
	return out, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{llm.ErrInvalidRequest}, args...)...)
}

var errNilRequest = fmt.Errorf("%w: nil request", llm.ErrInvalidRequest)

func encodeRequest(dst []byte, req *llm.Request, opts EncodeOptions) ([]byte, error) {
	if req == nil {
		return dst, errNilRequest
	}
	forceJSONTool := opts.ForceToolForJSON && req.ResponseFormat.WantsJSON()
	if err := checkTools(req, forceJSONTool); err != nil {
		return dst, err
	}

	forcedTool := forceJSONTool || req.ToolChoice.Mode == llm.ToolChoiceRequired || req.ToolChoice.Mode == llm.ToolChoiceFunction
	thinking := planThinking(req, forcedTool)
	dst = append(dst, `{"model":`...)
	dst = jsonw.String(dst, req.Model)
	dst = append(dst, `,"max_tokens":`...)
	dst = jsonw.Int(dst, int64(thinking.maxTokens))

	dst = appendSystem(dst, req.Messages)
	var err error
	if dst, err = appendMessages(dst, req.Messages); err != nil {
		return dst, err
	}

	// While thinking, Anthropic fixes temperature and top_k and takes top_p from 0.95 only.
	thinks := thinking.budget > 0
	if t := req.Temperature; t != nil && !math.IsNaN(*t) && !thinks {
		dst = append(dst, `,"temperature":`...)
		dst = jsonw.Float(dst, clampUnit(*t))
	}
	if p := req.TopP; p != nil && !math.IsNaN(*p) && (!thinks || *p >= 0.95) {
		dst = append(dst, `,"top_p":`...)
		dst = jsonw.Float(dst, clampUnit(*p))
	}
	if k := req.TopK; k != nil && *k > 0 && !thinks {
		dst = append(dst, `,"top_k":`...)
		dst = jsonw.Int(dst, int64(*k))
	}
	dst = thinking.append(dst)
	dst = appendStopSequences(dst, req.Stop)
	if req.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if dst, err = appendTools(dst, req, forceJSONTool); err != nil {
		return dst, err
	}
	if req.User != "" {
		dst = append(dst, `,"metadata":{"user_id":`...)
		dst = jsonw.String(dst, req.User)
		dst = append(dst, '}')
	}
	if !forceJSONTool {
		dst = appendOutputConfig(dst, req.ResponseFormat)
	}
	return append(dst, '}'), nil
}

// clampUnit clamps to [0,1]: Anthropic rejects a temperature above 1, which OpenAI callers
// routinely send (their range is 0 to 2).
func clampUnit(f float64) float64 {
	return math.Min(math.Max(f, 0), 1)
}

// appendSystem hoists system and developer messages into the top-level system field: a string
// when there is one text, text blocks when there are several so their boundaries survive.
func appendSystem(dst []byte, msgs []llm.Message) []byte {
	count := 0
	var only string
	for i := range msgs {
		if !msgs[i].Role.IsInstruction() {
			continue
		}
		for _, p := range msgs[i].Parts {
			if p.Type == llm.PartText && p.Text != "" {
				count++
				only = p.Text
			}
		}
	}
	switch count {
	case 0:
		return dst
	case 1:
		dst = append(dst, `,"system":`...)
		return jsonw.String(dst, only)
	}
	dst = append(dst, `,"system":[`...)
	first := true
	for i := range msgs {
		if !msgs[i].Role.IsInstruction() {
			continue
		}
		for _, p := range msgs[i].Parts {
			if p.Type != llm.PartText || p.Text == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendTextBlock(dst, p.Text)
		}
	}
	return append(dst, ']')
}

func appendTextBlock(dst []byte, text string) []byte {
	dst = append(dst, `{"type":"text","text":`...)
	dst = jsonw.String(dst, text)
	return append(dst, '}')
}

func appendStopSequences(dst []byte, stop []string) []byte {
	first := true
	for _, s := range stop {
		if s == "" {
			continue // Anthropic rejects empty stop sequences; OpenAI callers sometimes send them.
		}
		if first {
			dst = append(dst, `,"stop_sequences":[`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, s)
	}
	if !first {
		dst = append(dst, ']')
	}
	return dst
}

// checkTools validates tool definitions and the tool choice before anything is written.
func checkTools(req *llm.Request, forceJSONTool bool) error {
	for i := range req.Tools {
		t := &req.Tools[i]
		if t.Name == "" {
			return invalid("tool %d has no name", i)
		}
		if t.Name == JSONToolName {
			return invalid("tool name %q is reserved", JSONToolName)
		}
		if t.Parameters != nil && !jsonw.IsObject(t.Parameters) {
			return invalid("tool %q: parameters are not a JSON object", t.Name)
		}
	}
	if schema := formatSchema(req.ResponseFormat); schema != nil && !jsonw.IsObject(schema) {
		return invalid("response format schema is not a JSON object")
	}
	if forceJSONTool {
		return nil
	}
	switch req.ToolChoice.Mode {
	case llm.ToolChoiceDefault, llm.ToolChoiceAuto, llm.ToolChoiceNone:
		return nil
	case llm.ToolChoiceRequired:
		if len(req.Tools) == 0 {
			return invalid("tool choice %q without tools", req.ToolChoice.Mode)
		}
		return nil
	case llm.ToolChoiceFunction:
		for i := range req.Tools {
			if req.Tools[i].Name == req.ToolChoice.Name {
				return nil
			}
		}
		return invalid("tool choice names %q, which is not among the tools", req.ToolChoice.Name)
	}
	return invalid("unknown tool choice mode %q", req.ToolChoice.Mode)
}

func appendTools(dst []byte, req *llm.Request, forceJSONTool bool) ([]byte, error) {
	if len(req.Tools) == 0 && !forceJSONTool {
		return dst, nil
	}
	dst = append(dst, `,"tools":[`...)
	for i := range req.Tools {
		if i > 0 {
			dst = append(dst, ',')
		}
		t := &req.Tools[i]
		dst = appendTool(dst, t.Name, t.Description, t.Parameters, t.Strict)
	}
	if forceJSONTool {
		if len(req.Tools) > 0 {
			dst = append(dst, ',')
		}
		f := req.ResponseFormat
		desc := f.Description
		if desc == "" {
			desc = "Respond by calling this tool with the answer as its input."
		}
		dst = appendTool(dst, JSONToolName, desc, formatSchema(f), false)
		dst = append(dst, `],"tool_choice":{"type":"tool","name":`...)
		dst = jsonw.String(dst, JSONToolName)
		return append(dst, '}'), nil
	}
	dst = append(dst, ']')
	return appendToolChoice(dst, req.ToolChoice, req.ParallelToolCalls), nil
}

// appendTool writes one tool; schema was validated by checkTools.
func appendTool(dst []byte, name, description string, schema []byte, strict bool) []byte {
	dst = append(dst, `{"name":`...)
	dst = jsonw.String(dst, name)
	if description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonw.String(dst, description)
	}
	dst = append(dst, `,"input_schema":`...)
	dst = appendSchema(dst, schema)
	if strict {
		dst = append(dst, `,"strict":true`...)
	}
	return append(dst, '}')
}

func appendSchema(dst []byte, schema []byte) []byte {
	if schema == nil {
		return append(dst, objectSchema...)
	}
	return append(dst, jsonw.TrimSpace(schema)...)
}

func appendToolChoice(dst []byte, choice llm.ToolChoice, parallel *bool) []byte {
	noParallel := parallel != nil && !*parallel
	switch choice.Mode {
	case llm.ToolChoiceNone:
		// Anthropic accepts disable_parallel_tool_use only on the choices that allow calls.
		return append(dst, `,"tool_choice":{"type":"none"}`...)
	case llm.ToolChoiceAuto:
		dst = append(dst, `,"tool_choice":{"type":"auto"`...)
	case llm.ToolChoiceRequired:
		dst = append(dst, `,"tool_choice":{"type":"any"`...)
	case llm.ToolChoiceFunction:
		dst = append(dst, `,"tool_choice":{"type":"tool","name":`...)
		dst = jsonw.String(dst, choice.Name)
	default:
		if !noParallel {
			return dst
		}
		dst = append(dst, `,"tool_choice":{"type":"auto"`...)
	}
	if noParallel {
		dst = append(dst, `,"disable_parallel_tool_use":true`...)
	}
	return append(dst, '}')
}

func appendOutputConfig(dst []byte, f *llm.ResponseFormat) []byte {
	if !f.WantsJSON() {
		return dst
	}
	dst = append(dst, `,"output_config":{"format":{"type":"json_schema","schema":`...)
	dst = appendSchema(dst, formatSchema(f))
	return append(dst, "}}"...)
}

// formatSchema is the schema a JSON response format asks for; nil means any object.
// json_object ignores any schema given: Anthropic has no schemaless JSON mode, and an open
// object schema is the nearest equivalent.
func formatSchema(f *llm.ResponseFormat) []byte {
	if !f.WantsJSON() || f.Type == llm.FormatJSONObject {
		return nil
	}
	return f.Schema
}
