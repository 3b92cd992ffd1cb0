package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The Tracia SDK contract (shared/reference/tracia-wire.md) as checkable shapes: a reply the
// Python SDK's pydantic models would reject must fail checkContract. Every shape lists the
// fields the SDKs read, which are required, and the enums they accept.

type wireKind int

const (
	kString wireKind = iota
	kInt
	kNumber
	kBool
	kObject // any JSON object (elem checks it when set)
	kArray  // a JSON array (elem checks each item when set; elemKind for scalars)
	kDateTime
)

type wireField struct {
	name     string
	kind     wireKind
	required bool
	nullable bool     // null is accepted (an optional field may also be absent)
	enum     []string // for kString: the only values accepted
	elem     *wireShape
	elemKind *wireKind // for kArray of scalars
}

type wireShape struct {
	name   string
	fields []wireField
}

func kindPtr(k wireKind) *wireKind { return &k }

var (
	shapeUsage = &wireShape{"Usage", []wireField{
		{name: "inputTokens", kind: kInt, required: true},
		{name: "outputTokens", kind: kInt, required: true},
		{name: "totalTokens", kind: kInt, required: true},
	}}
	shapeToolCall = &wireShape{"ToolCall", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "name", kind: kString, required: true},
		{name: "arguments", kind: kObject, required: true},
	}}
	shapeLocalMessage = &wireShape{"LocalPromptMessage", []wireField{
		{name: "role", kind: kString, required: true, enum: []string{"system", "developer", "user", "assistant", "tool"}},
		{name: "toolCallId", kind: kString, nullable: true},
		{name: "toolName", kind: kString, nullable: true},
	}}
	// shapeRunResult is RunResult, the reply of POST /api/v1/prompts/{slug}/run.
	shapeRunResult = &wireShape{"RunResult", []wireField{
		{name: "text", kind: kString, nullable: true},
		{name: "spanId", kind: kString, required: true},
		{name: "traceId", kind: kString, required: true},
		{name: "promptVersion", kind: kInt, required: true},
		{name: "latencyMs", kind: kInt, required: true},
		{name: "usage", kind: kObject, required: true, elem: shapeUsage},
		{name: "cost", kind: kNumber, required: true},
		{name: "finishReason", kind: kString, nullable: true, enum: []string{"stop", "tool_calls", "max_tokens"}},
		{name: "toolCalls", kind: kArray, nullable: true, elem: shapeToolCall},
		{name: "structuredOutput", kind: kObject, nullable: true},
		{name: "messages", kind: kArray, nullable: true, elem: shapeLocalMessage},
	}}
	// shapeErrorBody is the error reply every Tracia API call reads on status >= 400.
	shapeErrorBody = &wireShape{"ErrorBody", []wireField{
		{name: "error", kind: kObject, required: true, elem: &wireShape{"Error", []wireField{
			{name: "code", kind: kString, required: true, enum: []string{"UNAUTHORIZED", "NOT_FOUND", "CONFLICT",
				"PROVIDER_ERROR", "MISSING_VARIABLES", "INVALID_REQUEST", "NETWORK_ERROR", "TIMEOUT", "ABORTED",
				"UNKNOWN", "MISSING_PROVIDER_SDK", "MISSING_PROVIDER_API_KEY", "MISSING_PROVIDER_KEY", "UNSUPPORTED_MODEL"}},
			{name: "message", kind: kString, required: true},
		}}},
	}}
)

// checkContract fails t when body does not satisfy shape.
func checkContract(t *testing.T, shape *wireShape, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: reply is not JSON: %v: %s", shape.name, err, body)
	}
	for _, problem := range contractProblems(shape, v, shape.name) {
		t.Errorf("%s", problem)
	}
}

func contractProblems(shape *wireShape, v any, path string) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want an object, got %T", path, v)}
	}
	var out []string
	for _, f := range shape.fields {
		fv, present := obj[f.name]
		p := path + "." + f.name
		switch {
		case !present && f.required:
			out = append(out, p+": required field missing")
		case !present:
		case fv == nil && f.nullable && !f.required:
		case fv == nil:
			out = append(out, p+": null is rejected")
		default:
			out = append(out, valueProblems(f.kind, f, fv, p)...)
		}
	}
	return out
}

func valueProblems(kind wireKind, f wireField, v any, p string) []string {
	switch kind {
	case kString, kDateTime:
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: want a string, got %T", p, v)}
		}
		if kind == kDateTime {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return []string{fmt.Sprintf("%s: %q is not an ISO 8601 date-time", p, s)}
			}
		}
		if len(f.enum) > 0 && !contains(f.enum, s) {
			return []string{fmt.Sprintf("%s: %q is not one of %s", p, s, strings.Join(f.enum, ", "))}
		}
	case kInt:
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return []string{fmt.Sprintf("%s: want an integer, got %v", p, v)}
		}
	case kNumber:
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: want a number, got %T", p, v)}
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: want a bool, got %T", p, v)}
		}
	case kObject:
		if _, ok := v.(map[string]any); !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", p, v)}
		}
		if f.elem != nil {
			return contractProblems(f.elem, v, p)
		}
	case kArray:
		items, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", p, v)}
		}
		var out []string
		for i, item := range items {
			ip := fmt.Sprintf("%s[%d]", p, i)
			switch {
			case f.elem != nil:
				out = append(out, contractProblems(f.elem, item, ip)...)
			case f.elemKind != nil:
				out = append(out, valueProblems(*f.elemKind, wireField{}, item, ip)...)
			}
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestContractCheckerRejects proves the checker fails the replies the Python SDK rejects.
func TestContractCheckerRejects(t *testing.T) {
	good := `{"text":"hi","spanId":"sp_0123456789abcdef","traceId":"tr_0123456789abcdef","promptVersion":1,
		"latencyMs":3,"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},"cost":0,"finishReason":"stop",
		"toolCalls":null,"structuredOutput":null,"messages":[{"role":"user","content":"x"}]}`
	if p := problemsOf(shapeRunResult, good); len(p) != 0 {
		t.Fatalf("good reply rejected: %v", p)
	}
	bad := map[string]string{
		"missing spanId":     strings.Replace(good, `"spanId":"sp_0123456789abcdef",`, "", 1),
		"null cost":          strings.Replace(good, `"cost":0`, `"cost":null`, 1),
		"finishReason enum":  strings.Replace(good, `"finishReason":"stop"`, `"finishReason":"length"`, 1),
		"float latency":      strings.Replace(good, `"latencyMs":3`, `"latencyMs":3.5`, 1),
		"usage missing":      strings.Replace(good, `"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},`, "", 1),
		"role outside enum":  strings.Replace(good, `"role":"user"`, `"role":"function"`, 1),
		"arguments a string": strings.Replace(good, `"toolCalls":null`, `"toolCalls":[{"id":"a","name":"b","arguments":"{}"}]`, 1),
	}
	for name, body := range bad {
		if p := problemsOf(shapeRunResult, body); len(p) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	if p := problemsOf(&wireShape{"D", []wireField{{name: "at", kind: kDateTime, required: true}}}, `{"at":"yesterday"}`); len(p) == 0 {
		t.Error("bad date-time accepted")
	}
}

func problemsOf(shape *wireShape, body string) []string {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return []string{err.Error()}
	}
	return contractProblems(shape, v, shape.name)
}
