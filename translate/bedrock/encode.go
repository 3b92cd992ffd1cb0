package bedrock

import (
	"fmt"
	"math"
	"strings"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/anthropic"
)

// EncodeOptions tunes EncodeRequestWith.
type EncodeOptions struct {
	// CachePoints adds Converse cachePoint blocks after the system prompt and after the tool
	// definitions, so the static prefix of a conversation is cached. Only models with prompt
	// caching (Claude, Nova) accept them.
	CachePoints bool
	// forCount leaves out what a CountTokens converse input has no member for (inferenceConfig,
	// outputConfig).
	forCount bool
}

// DefaultMaxTokens fills maxTokens for Anthropic models, which require it, when the request
// sets none.
const DefaultMaxTokens = 4096

// objectSchema is the schema used when a tool or a JSON response format gives none.
const objectSchema = `{"type":"object"}`

// EncodeRequest appends the Converse (and ConverseStream: the body is the same) request body
// for req to dst. The model id goes in the URL path, not the body.
func EncodeRequest(dst []byte, req *llm.Request) ([]byte, error) {
	return EncodeRequestWith(dst, req, EncodeOptions{})
}

// EncodeRequestWith is EncodeRequest with options. On error dst is returned unchanged in
// length; every error wraps llm.ErrInvalidRequest.
func EncodeRequestWith(dst []byte, req *llm.Request, opts EncodeOptions) ([]byte, error) {
	mark := len(dst)
	out, err := encodeRequest(dst, req, opts)
	if err != nil {
		return dst[:mark], fmt.Errorf("encode bedrock request: %w", err)
	}
	return out, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{llm.ErrInvalidRequest}, args...)...)
}

func encodeRequest(dst []byte, req *llm.Request, opts EncodeOptions) ([]byte, error) {
	if req == nil {
		return dst, invalid("nil request")
	}
	forceJSONTool := req.ResponseFormat.WantsJSON() && !NativeStructuredOutput(req.Model)
	if err := checkTools(req, forceJSONTool); err != nil {
		return dst, err
	}
	dst = append(dst, `{"messages":`...)
	var err error
	if dst, err = appendMessages(dst, req.Messages); err != nil {
		return dst, err
	}
	dst = appendSystem(dst, req.Messages, opts.CachePoints)
	if !opts.forCount {
		dst = appendInferenceConfig(dst, req)
	}
	dst = appendToolConfig(dst, req, opts.CachePoints, forceJSONTool)
	if !forceJSONTool && !opts.forCount {
		dst = appendOutputConfig(dst, req.ResponseFormat)
	}
	dst = appendModelFields(dst, req)
	return append(dst, '}'), nil
}

// thinkingBudget is the Claude thinking budget req asks for; 0 for none.
func thinkingBudget(req *llm.Request) int {
	r := req.Reasoning
	if r == nil || r.Disabled || !isAnthropic(req.Model) {
		return 0
	}
	if r.BudgetTokens > 0 {
		return max(r.BudgetTokens, anthropic.MinThinkingBudget)
	}
	return anthropic.EffortBudget(r.Effort)
}

// appendModelFields writes additionalModelRequestFields, the model-native fields Converse has
// no member for: Claude's top_k and thinking, Nova 2's reasoningConfig.
func appendModelFields(dst []byte, req *llm.Request) []byte {
	budget := thinkingBudget(req)
	topK := req.TopK != nil && isAnthropic(req.Model) && budget == 0
	novaEffort := ""
	if r := req.Reasoning; r != nil && !r.Disabled && strings.Contains(req.Model, "amazon.nova-2") {
		switch r.Effort {
		case "low", "medium", "high":
			novaEffort = r.Effort
		case "minimal":
			novaEffort = "low"
		default:
			novaEffort = "medium"
		}
	}
	if !topK && budget == 0 && novaEffort == "" {
		return dst
	}
	dst = append(dst, `,"additionalModelRequestFields":{`...)
	switch {
	case budget > 0:
		dst = append(dst, `"thinking":{"type":"enabled","budget_tokens":`...)
		dst = jsonw.Int(dst, int64(budget))
		dst = append(dst, '}')
	case topK:
		dst = append(dst, `"top_k":`...)
		dst = jsonw.Int(dst, int64(*req.TopK))
	default:
		dst = append(dst, `"reasoningConfig":{"type":"enabled","maxReasoningEffort":"`...)
		dst = append(dst, novaEffort...)
		dst = append(dst, `"}`...)
	}
	return append(dst, '}')
}

// isAnthropic reports whether a model id (plain, inference profile or ARN) names a Claude
// model.
func isAnthropic(model string) bool { return strings.Contains(model, "anthropic.") }

func appendInferenceConfig(dst []byte, req *llm.Request) []byte {
	maxTokens := req.MaxTokens
	if maxTokens <= 0 && isAnthropic(req.Model) {
		maxTokens = DefaultMaxTokens
	}
	budget := thinkingBudget(req)
	if budget > 0 && maxTokens <= budget {
		// The budget is part of maxTokens: leave room for the answer itself.
		maxTokens = budget + DefaultMaxTokens
	}
	// Claude rejects sampling changes while it thinks.
	temp := req.Temperature != nil && !math.IsNaN(*req.Temperature) && budget == 0
	topP := req.TopP != nil && !math.IsNaN(*req.TopP) && budget == 0
	stops := 0
	for _, s := range req.Stop {
		if s != "" {
			stops++
		}
	}
	if maxTokens <= 0 && !temp && !topP && stops == 0 {
		return dst
	}
	dst = append(dst, `,"inferenceConfig":{`...)
	sep := false
	field := func(name string) {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
	}
	if maxTokens > 0 {
		field("maxTokens")
		dst = jsonw.Int(dst, int64(maxTokens))
	}
	if temp {
		field("temperature")
		// Converse takes 0..1 for every model family.
		dst = jsonw.Float(dst, math.Min(math.Max(*req.Temperature, 0), 1))
	}
	if topP {
		field("topP")
		dst = jsonw.Float(dst, math.Min(math.Max(*req.TopP, 0), 1))
	}
	if stops > 0 {
		field("stopSequences")
		dst = append(dst, '[')
		first := true
		for _, s := range req.Stop {
			if s == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonw.String(dst, s)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendSystem(dst []byte, msgs []llm.Message, cachePoint bool) []byte {
	n := 0
	for i := range msgs {
		if !msgs[i].Role.IsInstruction() {
			continue
		}
		for _, p := range msgs[i].Parts {
			if p.Type != llm.PartText || strings.TrimSpace(p.Text) == "" {
				continue
			}
			if n == 0 {
				dst = append(dst, `,"system":[`...)
			} else {
				dst = append(dst, ',')
			}
			n++
			dst = appendText(dst, p.Text)
		}
	}
	if n == 0 {
		return dst
	}
	if cachePoint {
		dst = append(dst, `,{"cachePoint":{"type":"default"}}`...)
	}
	return append(dst, ']')
}

func appendText(dst []byte, text string) []byte {
	dst = append(dst, `{"text":`...)
	dst = jsonw.String(dst, text)
	return append(dst, '}')
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
	if f := req.ResponseFormat; f.WantsJSON() && f.Type == llm.FormatJSONSchema && f.Schema != nil && !jsonw.IsObject(f.Schema) {
		return invalid("response format schema is not a JSON object")
	}
	if forceJSONTool {
		return nil // the forced JSON tool replaces the tool choice
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

// appendToolConfig writes toolConfig. Converse has no "none" choice, and it rejects a
// conversation with toolUse or toolResult blocks but no toolConfig: with choice none the tools
// are declared only when the history needs them, without a toolChoice. forceJSONTool adds the
// synthetic JSON tool and forces its call, for models without native structured output.
func appendToolConfig(dst []byte, req *llm.Request, cachePoint, forceJSONTool bool) []byte {
	declare := len(req.Tools) > 0 && (req.ToolChoice.Mode != llm.ToolChoiceNone || usesTools(req.Messages))
	if !declare && !forceJSONTool {
		return dst
	}
	dst = append(dst, `,"toolConfig":{"tools":[`...)
	n := 0
	if declare {
		for i := range req.Tools {
			t := &req.Tools[i]
			dst = appendToolSpec(dst, n, t.Name, t.Description, t.Parameters, t.Strict)
			n++
		}
	}
	if forceJSONTool {
		f := req.ResponseFormat
		desc := f.Description
		if desc == "" {
			desc = "Respond by calling this tool with the answer as its input."
		}
		dst = appendToolSpec(dst, n, JSONToolName, desc, formatSchema(f), false)
	}
	if cachePoint {
		dst = append(dst, `,{"cachePoint":{"type":"default"}}`...)
	}
	dst = append(dst, ']')
	choice := req.ToolChoice
	if forceJSONTool {
		choice = llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: JSONToolName}
	}
	switch choice.Mode {
	case llm.ToolChoiceAuto:
		dst = append(dst, `,"toolChoice":{"auto":{}}`...)
	case llm.ToolChoiceRequired:
		dst = append(dst, `,"toolChoice":{"any":{}}`...)
	case llm.ToolChoiceFunction:
		dst = append(dst, `,"toolChoice":{"tool":{"name":`...)
		dst = jsonw.String(dst, choice.Name)
		dst = append(dst, "}}"...)
	}
	return append(dst, '}')
}

// appendToolSpec writes the n-th tool of the list; schema was validated by checkTools.
func appendToolSpec(dst []byte, n int, name, description string, schema []byte, strict bool) []byte {
	if n > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"toolSpec":{"name":`...)
	dst = jsonw.String(dst, name)
	if description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonw.String(dst, description)
	}
	dst = append(dst, `,"inputSchema":{"json":`...)
	if schema == nil {
		dst = append(dst, objectSchema...)
	} else {
		dst = append(dst, jsonw.TrimSpace(schema)...)
	}
	dst = append(dst, '}')
	if strict {
		dst = append(dst, `,"strict":true`...)
	}
	return append(dst, "}}"...)
}

// formatSchema is the schema a JSON response format asks for; nil means any object.
func formatSchema(f *llm.ResponseFormat) []byte {
	if !f.WantsJSON() || f.Type == llm.FormatJSONObject {
		return nil
	}
	return f.Schema
}

func usesTools(msgs []llm.Message) bool {
	for i := range msgs {
		if msgs[i].Role == llm.RoleTool {
			return true
		}
		for _, p := range msgs[i].Parts {
			if p.Type == llm.PartToolCall {
				return true
			}
		}
	}
	return false
}

// appendOutputConfig asks for structured output with Converse's outputConfig.textFormat,
// whose schema is a JSON document carried as a string.
func appendOutputConfig(dst []byte, f *llm.ResponseFormat) []byte {
	if !f.WantsJSON() {
		return dst
	}
	schema := []byte(objectSchema)
	if fs := formatSchema(f); fs != nil {
		schema = jsonw.TrimSpace(fs)
	}
	name := f.Name
	if name == "" {
		name = "response"
	}
	dst = append(dst, `,"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":`...)
	dst = jsonw.String(dst, schema)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, name)
	if f.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = jsonw.String(dst, f.Description)
	}
	return append(dst, "}}}}"...)
}
