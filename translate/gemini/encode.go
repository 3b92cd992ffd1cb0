package gemini

import (
	"bytes"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// EncodeRequest appends the GenerateContentRequest body for req to dst. The model is not in
// the body: it goes in the URL (GeneratePath, StreamPath). On error dst is returned unchanged
// and the error wraps llm.ErrInvalidRequest.
//
// Mapping: system and developer messages become systemInstruction; assistant turns become
// role "model" with text and functionCall parts (thoughtSignature alongside); each run of
// consecutive tool messages becomes one user turn of functionResponse parts. Tools are sent as
// functionDeclarations with parametersJsonSchema (top-level "$schema" removed), tool choice as
// toolConfig.functionCallingConfig, sampling and structured output in generationConfig.
// Empty text parts, and turns left with no parts, are not sent: Gemini rejects them.
func EncodeRequest(dst []byte, req *llm.Request) ([]byte, error) {
	if req == nil {
		return dst, fmt.Errorf("encode gemini request: nil request: %w", llm.ErrInvalidRequest)
	}
	out, err := encodeRequest(dst, req)
	if err != nil {
		return dst, fmt.Errorf("encode gemini request: %w: %w", err, llm.ErrInvalidRequest)
	}
	return out, nil
}

func encodeRequest(b []byte, req *llm.Request) ([]byte, error) {
	b = append(b, `{"contents":[`...)
	var (
		err   error
		turns int
	)
	for i := 0; i < len(req.Messages); i++ {
		m := &req.Messages[i]
		switch m.Role {
		case llm.RoleSystem, llm.RoleDeveloper:
			continue // gathered into systemInstruction below
		case llm.RoleUser:
			if !hasContent(m) {
				continue
			}
			b = appendTurnSeparator(b, turns)
			if b, err = appendUserTurn(b, m); err != nil {
				return b, fmt.Errorf("message %d: %w", i, err)
			}
		case llm.RoleAssistant:
			if !hasContent(m) {
				continue
			}
			b = appendTurnSeparator(b, turns)
			if b, err = appendModelTurn(b, m); err != nil {
				return b, fmt.Errorf("message %d: %w", i, err)
			}
		case llm.RoleTool:
			end := i + 1
			for end < len(req.Messages) && req.Messages[end].Role == llm.RoleTool {
				end++
			}
			b = appendTurnSeparator(b, turns)
			if b, err = appendToolResultTurn(b, req.Messages, i, end); err != nil {
				return b, err
			}
			i = end - 1
		default:
			return b, fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
		turns++
	}
	if turns == 0 {
		return b, fmt.Errorf("no user, assistant or tool messages")
	}
	b = append(b, ']')

	b = appendSystemInstruction(b, req.Messages)
	if len(req.Tools) > 0 {
		if b, err = appendTools(b, req.Tools); err != nil {
			return b, err
		}
		if b, err = appendToolConfig(b, req.ToolChoice); err != nil {
			return b, err
		}
	}
	if b, err = appendGenerationConfig(b, req); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func appendTurnSeparator(b []byte, turns int) []byte {
	if turns > 0 {
		return append(b, ',')
	}
	return b
}

// hasContent reports whether m yields at least one Gemini part.
func hasContent(m *llm.Message) bool {
	for i := range m.Parts {
		if t := m.Parts[i].Type; t == llm.PartToolCall || t == llm.PartImage || m.Parts[i].Text != "" {
			return true
		}
	}
	return false
}

func appendUserTurn(b []byte, m *llm.Message) ([]byte, error) {
	b = append(b, `{"role":"user","parts":[`...)
	n := 0
	for i := range m.Parts {
		p := &m.Parts[i]
		switch p.Type {
		case llm.PartText:
			if p.Text == "" {
				continue
			}
			b = appendPartSeparator(b, n)
			b = appendTextPart(b, p.Text)
			n++
		case llm.PartToolCall:
			return b, fmt.Errorf("user message holds a tool call")
		case llm.PartImage:
			if p.Image == nil {
				return b, fmt.Errorf("image part without an image")
			}
			b = appendPartSeparator(b, n)
			b = appendImagePart(b, p.Image)
			n++
		default:
			return b, fmt.Errorf("unknown part type %q", p.Type)
		}
	}
	return append(b, "]}"...), nil
}

func appendModelTurn(b []byte, m *llm.Message) ([]byte, error) {
	b = append(b, `{"role":"model","parts":[`...)
	n := 0
	var err error
	for i := range m.Parts {
		p := &m.Parts[i]
		switch p.Type {
		case llm.PartText:
			if p.Text == "" {
				continue
			}
			b = appendPartSeparator(b, n)
			b = appendTextPart(b, p.Text)
		case llm.PartToolCall:
			b = appendPartSeparator(b, n)
			if b, err = appendFunctionCallPart(b, &p.ToolCall); err != nil {
				return b, err
			}
		case llm.PartReasoning:
			// Another provider's reasoning means nothing to Gemini, whose own thought state
			// rides on thoughtSignature.
			continue
		default:
			return b, fmt.Errorf("unknown part type %q", p.Type)
		}
		n++
	}
	return append(b, "]}"...), nil
}

func appendPartSeparator(b []byte, n int) []byte {
	if n > 0 {
		return append(b, ',')
	}
	return b
}

func appendTextPart(b []byte, text string) []byte {
	b = append(b, `{"text":`...)
	b = jsonw.String(b, text)
	return append(b, '}')
}

func appendFunctionCallPart(b []byte, c *llm.ToolCall) ([]byte, error) {
	if c.Name == "" {
		return b, fmt.Errorf("tool call %q has no name", c.ID)
	}
	b = append(b, `{"functionCall":{`...)
	if echoableCallID(c.ID) {
		b = append(b, `"id":`...)
		b = jsonw.String(b, c.ID)
		b = append(b, ',')
	}
	b = append(b, `"name":`...)
	b = jsonw.String(b, c.Name)
	b = append(b, `,"args":`...)
	if jsonw.IsNull(c.Arguments) {
		b = append(b, "{}"...)
	} else {
		args, err := checkObject(c.Arguments)
		if err != nil {
			return b, fmt.Errorf("tool call %q arguments: %w", c.Name, err)
		}
		b = append(b, args...)
	}
	b = append(b, '}')
	if c.Signature != "" {
		b = append(b, `,"thoughtSignature":`...)
		b = jsonw.String(b, c.Signature)
	}
	return append(b, '}'), nil
}

// appendToolResultTurn writes the tool messages msgs[start:end] as one user turn, since
// Gemini expects all answers to one model turn together, in call order.
func appendToolResultTurn(b []byte, msgs []llm.Message, start, end int) ([]byte, error) {
	b = append(b, `{"role":"user","parts":[`...)
	for i := start; i < end; i++ {
		m := &msgs[i]
		name := m.ToolName
		if name == "" {
			name = calledName(msgs[:start], m.ToolCallID)
		}
		if name == "" {
			return b, fmt.Errorf("message %d: tool result for call %q names no tool and answers no earlier assistant call", i, m.ToolCallID)
		}
		b = appendPartSeparator(b, i-start)
		b = append(b, `{"functionResponse":{`...)
		if echoableCallID(m.ToolCallID) {
			b = append(b, `"id":`...)
			b = jsonw.String(b, m.ToolCallID)
			b = append(b, ',')
		}
		b = append(b, `"name":`...)
		b = jsonw.String(b, name)
		b = append(b, `,"response":`...)
		for j := range m.Parts {
			if m.Parts[j].Type != llm.PartText {
				return b, fmt.Errorf("message %d: a tool result for gemini may hold text only, not %s", i, m.Parts[j].Type)
			}
		}
		// Gemini wants an object: a JSON object result goes as is, anything else is wrapped,
		// under "error" for a failed call as Gemini's function calling guide has it.
		content := m.Text()
		if obj, ok := objectText(content); ok && !m.IsError {
			b = append(b, obj...)
		} else {
			key := `{"output":`
			if m.IsError {
				key = `{"error":`
			}
			b = append(b, key...)
			b = jsonw.String(b, content)
			b = append(b, '}')
		}
		b = append(b, "}}"...)
	}
	return append(b, "]}"...), nil
}

// calledName finds the function an earlier assistant turn called with id. It searches from
// the latest turn back, where the answer normally sits, and needs no index to be built.
func calledName(earlier []llm.Message, id string) string {
	if id == "" {
		return ""
	}
	for i := len(earlier) - 1; i >= 0; i-- {
		if earlier[i].Role != llm.RoleAssistant {
			continue
		}
		for j := range earlier[i].Parts {
			if p := &earlier[i].Parts[j]; p.Type == llm.PartToolCall && p.ToolCall.ID == id {
				return p.ToolCall.Name
			}
		}
	}
	return ""
}

func appendSystemInstruction(b []byte, msgs []llm.Message) []byte {
	n := 0
	for i := range msgs {
		m := &msgs[i]
		if !m.Role.IsInstruction() {
			continue
		}
		text := m.Text()
		if text == "" {
			continue
		}
		if n == 0 {
			b = append(b, `,"systemInstruction":{"parts":[`...)
		}
		b = appendPartSeparator(b, n)
		b = appendTextPart(b, text)
		n++
	}
	if n > 0 {
		b = append(b, "]}"...)
	}
	return b
}

var schemaKey = []byte(`"$schema"`)

func appendTools(b []byte, tools []llm.Tool) ([]byte, error) {
	b = append(b, `,"tools":[{"functionDeclarations":[`...)
	for i := range tools {
		t := &tools[i]
		if t.Name == "" {
			return b, fmt.Errorf("tool %d has no name", i)
		}
		b = appendPartSeparator(b, i)
		b = append(b, `{"name":`...)
		b = jsonw.String(b, t.Name)
		if t.Description != "" {
			b = append(b, `,"description":`...)
			b = jsonw.String(b, t.Description)
		}
		if !jsonw.IsNull(t.Parameters) {
			var err error
			b = append(b, `,"parametersJsonSchema":`...)
			if b, err = appendSchemaWithoutDialect(b, t.Parameters); err != nil {
				return b, fmt.Errorf("tool %q parameters: %w", t.Name, err)
			}
		}
		b = append(b, '}')
	}
	return append(b, "]}]"...), nil
}

// appendSchemaWithoutDialect copies a JSON Schema object minus its top-level "$schema",
// which function declarations do not accept.
func appendSchemaWithoutDialect(b []byte, schema []byte) ([]byte, error) {
	schema, err := checkObject(schema)
	if err != nil {
		return b, err
	}
	if !bytes.Contains(schema, schemaKey) {
		return append(b, schema...), nil
	}
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(schema)
	if err != nil {
		return b, err
	}
	return jsonw.ValueWithout(b, v, "$schema")
}

func appendToolConfig(b []byte, choice llm.ToolChoice) ([]byte, error) {
	var mode string
	switch choice.Mode {
	case llm.ToolChoiceDefault:
		return b, nil
	case llm.ToolChoiceAuto:
		mode = "AUTO"
	case llm.ToolChoiceNone:
		mode = "NONE"
	case llm.ToolChoiceRequired, llm.ToolChoiceFunction:
		mode = "ANY"
	default:
		return b, fmt.Errorf("unknown tool choice mode %q", choice.Mode)
	}
	b = append(b, `,"toolConfig":{"functionCallingConfig":{"mode":"`...)
	b = append(b, mode...)
	b = append(b, '"')
	if choice.Mode == llm.ToolChoiceFunction {
		if choice.Name == "" {
			return b, fmt.Errorf("tool choice names no function")
		}
		b = append(b, `,"allowedFunctionNames":[`...)
		b = jsonw.String(b, choice.Name)
		b = append(b, ']')
	}
	return append(b, "}}"...), nil
}

func appendGenerationConfig(b []byte, req *llm.Request) ([]byte, error) {
	b = append(b, `,"generationConfig":{`...)
	n := 0
	field := func(name string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	var err error
	if req.Temperature != nil {
		field("temperature")
		if b, err = jsonw.FloatChecked(b, *req.Temperature); err != nil {
			return b, fmt.Errorf("temperature: %w", err)
		}
	}
	if req.TopP != nil {
		field("topP")
		if b, err = jsonw.FloatChecked(b, *req.TopP); err != nil {
			return b, fmt.Errorf("top_p: %w", err)
		}
	}
	if req.MaxTokens < 0 {
		return b, fmt.Errorf("max tokens %d is negative", req.MaxTokens)
	}
	if req.MaxTokens > 0 {
		field("maxOutputTokens")
		b = jsonw.Int(b, int64(req.MaxTokens))
	}
	if req.TopK != nil {
		field("topK")
		b = jsonw.Int(b, int64(*req.TopK))
	}
	if r := req.Reasoning; r != nil {
		if budget, ok := thinkingBudget(r); ok {
			field("thinkingConfig")
			b = append(b, `{"thinkingBudget":`...)
			b = jsonw.Int(b, budget)
			if budget != 0 {
				b = append(b, `,"includeThoughts":true`...)
			}
			b = append(b, '}')
		}
	}
	if len(req.Stop) > 0 {
		field("stopSequences")
		b = append(b, '[')
		for i, s := range req.Stop {
			b = appendPartSeparator(b, i)
			b = jsonw.String(b, s)
		}
		b = append(b, ']')
	}
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case llm.FormatText, "":
		case llm.FormatJSONObject:
			field("responseMimeType")
			b = append(b, `"application/json"`...)
		case llm.FormatJSONSchema:
			field("responseMimeType")
			b = append(b, `"application/json"`...)
			if !jsonw.IsNull(f.Schema) {
				schema, err := checkObject(f.Schema)
				if err != nil {
					return b, fmt.Errorf("response format schema: %w", err)
				}
				field("responseJsonSchema")
				b = append(b, schema...)
			}
		default:
			return b, fmt.Errorf("unknown response format %q", f.Type)
		}
	}
	return append(b, '}'), nil
}

// appendImagePart appends an image as inlineData (base64 bytes) or fileData (a URL).
func appendImagePart(b []byte, img *llm.Image) []byte {
	if img.URL != "" {
		b = append(b, `{"fileData":{`...)
		if img.MediaType != "" {
			b = append(b, `"mimeType":`...)
			b = jsonw.String(b, img.MediaType)
			b = append(b, ',')
		}
		b = append(b, `"fileUri":`...)
		b = jsonw.String(b, img.URL)
		return append(b, "}}"...)
	}
	b = append(b, `{"inlineData":{"mimeType":`...)
	b = jsonw.String(b, img.MediaType)
	b = append(b, `,"data":`...)
	b = jsonw.String(b, img.Data)
	return append(b, "}}"...)
}

// Thinking budgets for an effort, for requests that name one instead of a budget.
var effortBudgets = map[string]int64{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

// thinkingBudget is thinkingConfig.thinkingBudget for r: the budget asked for, one derived
// from an effort, or 0 to turn thinking off. ok is false when r asks for nothing Gemini has.
func thinkingBudget(r *llm.ReasoningConfig) (int64, bool) {
	switch {
	case r.Disabled:
		return 0, true
	case r.BudgetTokens > 0:
		return int64(r.BudgetTokens), true
	}
	n, ok := effortBudgets[r.Effort]
	return n, ok
}
