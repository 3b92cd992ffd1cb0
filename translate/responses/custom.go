package responses

import (
	"encoding/json"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// Custom tools take free-form text instead of JSON arguments (Codex's apply_patch is one).
// Other formats have only JSON tools, so a custom tool is sent as a function with one string
// parameter, "input", its grammar (if any) in the description, and a call of it comes back as
// the custom_tool_call item the client expects.

const customInputSchema = `{"type":"object","properties":{"input":{"type":"string","description":"The tool's raw input text."}},"required":["input"],"additionalProperties":false}`

func (d *decoder) customTool(path string, t *fastjson.Value) {
	tool := llm.Tool{Name: string(t.GetStringBytes("name")), Description: string(t.GetStringBytes("description")),
		Parameters: json.RawMessage(customInputSchema)}
	if tool.Name == "" {
		d.fail("%s.name is required", path)
		return
	}
	if f := t.Get("format"); f != nil && string(f.GetStringBytes("type")) == "grammar" {
		tool.Description += fmt.Sprintf("\n\nThe input must match this %s grammar:\n%s", f.GetStringBytes("syntax"), f.GetStringBytes("definition"))
	}
	if d.out.CustomTools == nil {
		d.out.CustomTools = map[string]bool{}
	}
	d.out.CustomTools[tool.Name] = true
	d.out.LLM.Tools = append(d.out.LLM.Tools, tool)
}

// customCall decodes a custom_tool_call input item into the canonical call of its function.
func (d *decoder) customCall(i int, it *fastjson.Value) {
	callID, name := string(it.GetStringBytes("call_id")), string(it.GetStringBytes("name"))
	if callID == "" || name == "" {
		d.fail("input[%d]: a custom_tool_call needs call_id and name", i)
		return
	}
	args := jsonw.String(append([]byte(nil), `{"input":`...), it.GetStringBytes("input"))
	d.callNames[callID] = name
	m := d.assistant()
	m.Parts = append(m.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: callID, Name: name, Arguments: append(args, '}')}})
}

// appendCustomInput writes, as a JSON string, the raw input of a call of a custom tool: the
// "input" member of its arguments, or the arguments as they are when the model did not keep
// to the schema.
func appendCustomInput(dst, args []byte) []byte {
	p := parsers.Get()
	defer parsers.Put(p)
	if v, err := p.ParseBytes(args); err == nil {
		if in := v.Get("input"); in != nil && in.Type() == fastjson.TypeString {
			return jsonw.String(dst, in.GetStringBytes())
		}
	}
	return jsonw.String(dst, args)
}
