package proxy

import (
	"strings"
	"testing"
)

// The prompts API's shapes (shared/reference/tracia-wire.md "Prompts"), as the Python SDK's
// pydantic models require them, plus the flat fields the Node SDK reads from the same reply.

var traciaProviders = []string{"openai", "anthropic", "google", "amazon_bedrock", "voyage"}

var (
	// shapePromptMessage is PromptMessage: no tool role in a template.
	shapePromptMessage = &wireShape{"PromptMessage", []wireField{
		{name: "id", kind: kString, required: true},
		{name: "role", kind: kString, required: true, enum: []string{"system", "developer", "user", "assistant"}},
		{name: "content", kind: kString, required: true},
	}}
	shapePromptVersion = &wireShape{"PromptVersion", []wireField{
		{name: "version", kind: kInt, required: true},
		{name: "messages", kind: kArray, required: true, elem: shapePromptMessage},
		{name: "model", kind: kString, required: true},
		{name: "provider", kind: kString, required: true, enum: traciaProviders},
		{name: "createdAt", kind: kDateTime, required: true},
		{name: "temperature", kind: kNumber, nullable: true},
		{name: "maxOutputTokens", kind: kInt, nullable: true},
		{name: "topP", kind: kNumber, nullable: true},
		{name: "stopSequences", kind: kArray, nullable: true, elemKind: kindPtr(kString)},
	}}
	// shapePrompt is Prompt, the reply of get, create and update. Node reads content,
	// variables, model and description from it too.
	shapePrompt = &wireShape{"Prompt", append(promptHeadFields(),
		wireField{name: "versions", kind: kArray, required: true, elem: shapePromptVersion},
		wireField{name: "content", kind: kArray, required: true, elem: shapePromptMessage},
		wireField{name: "variables", kind: kArray, required: true, elemKind: kindPtr(kString)},
		wireField{name: "model", kind: kString, nullable: true},
	)}
	shapePromptListItem = &wireShape{"PromptListItem", append(promptHeadFields(),
		wireField{name: "model", kind: kString, nullable: true},
		wireField{name: "variables", kind: kArray, elemKind: kindPtr(kString)},
	)}
	shapePromptList = &wireShape{"ListPromptsResult", []wireField{
		{name: "prompts", kind: kArray, required: true, elem: shapePromptListItem},
	}}
	// shapeDeleteResult is what Node parses after a delete (it needs a JSON body).
	shapeDeleteResult = &wireShape{"DeleteResult", []wireField{
		{name: "success", kind: kBool, required: true},
	}}
)

// promptHeadFields are the fields Prompt and PromptListItem share.
func promptHeadFields() []wireField {
	return []wireField{
		{name: "id", kind: kString, required: true},
		{name: "slug", kind: kString, required: true},
		{name: "name", kind: kString, required: true},
		{name: "description", kind: kString, nullable: true},
		{name: "currentVersion", kind: kInt, required: true},
		{name: "createdAt", kind: kDateTime, required: true},
		{name: "updatedAt", kind: kDateTime, required: true},
	}
}

// TestPromptShapesRejectWhatTheSDKRejects proves the prompt shapes fail the replies the Python
// SDK's models would reject (the ones this task exists to fix among them).
func TestPromptShapesRejectWhatTheSDKRejects(t *testing.T) {
	good := `{"id":"p","slug":"s","name":"S","description":null,"currentVersion":1,
		"createdAt":"2024-01-02T03:04:05.000Z","updatedAt":"2024-01-02T03:04:05.000Z",
		"versions":[{"version":1,"messages":[{"id":"m1","role":"user","content":"hi"}],"model":"mock-1",
		"provider":"openai","createdAt":"2024-01-02T03:04:05.000Z"}],
		"content":[{"id":"m1","role":"user","content":"hi"}],"variables":[],"model":"mock-1"}`
	if p := problemsOf(shapePrompt, good); len(p) != 0 {
		t.Fatalf("good prompt rejected: %v", p)
	}
	bad := map[string]string{
		"no createdAt":      strings.Replace(good, `"createdAt":"2024-01-02T03:04:05.000Z","updatedAt"`, `"updatedAt"`, 1),
		"no updatedAt":      strings.Replace(good, `"updatedAt":"2024-01-02T03:04:05.000Z",`, "", 1),
		"no message id":     strings.Replace(good, `"versions":[{"version":1,"messages":[{"id":"m1",`, `"versions":[{"version":1,"messages":[{`, 1),
		"mock provider":     strings.Replace(good, `"provider":"openai"`, `"provider":"mock"`, 1),
		"gemini provider":   strings.Replace(good, `"provider":"openai"`, `"provider":"gemini"`, 1),
		"no provider":       strings.Replace(good, `"provider":"openai",`, "", 1),
		"no version date":   strings.Replace(good, `"provider":"openai","createdAt":"2024-01-02T03:04:05.000Z"`, `"provider":"openai"`, 1),
		"tool role":         strings.Replace(good, `"role":"user"`, `"role":"tool"`, 1),
		"string version":    strings.Replace(good, `"currentVersion":1`, `"currentVersion":"1"`, 1),
		"date not ISO":      strings.Replace(good, `"updatedAt":"2024-01-02T03:04:05.000Z"`, `"updatedAt":"Jan 2"`, 1),
		"variables missing": strings.Replace(good, `"variables":[],`, "", 1),
	}
	for name, body := range bad {
		if p := problemsOf(shapePrompt, body); len(p) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	if p := problemsOf(shapePromptList, `{"prompts":[{"id":"p","slug":"s","name":"S","currentVersion":1}]}`); len(p) == 0 {
		t.Error("list item without dates accepted")
	}
	if p := problemsOf(shapeDeleteResult, `{}`); len(p) == 0 {
		t.Error("empty delete reply accepted")
	}
}
