package faults

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Vertex AI's Gemini models: the Gemini API's bodies, replies and streams under Vertex's
// resource paths and OAuth, except where Vertex differs: countTokens takes the request's
// contents at the top level, embeddings are the prediction API's :predict, every content
// needs its role, and quota errors carry no RetryInfo.

// vertexGeminiWire is the wire of a path under /publishers/google/models/.
func vertexGeminiWire(path string) wire {
	switch _, method := vertexCall(path); method {
	case "predict":
		return wireVertexPredict
	case "countTokens":
		return wireVertexGemCount
	}
	return wireVertexGemini
}

func (f *fault) vertexGemini() bool {
	return f.wire == wireVertexGemini || f.wire == wireVertexPredict || f.wire == wireVertexGemCount
}

// vertexGeminiCall reads the model and method from the path and reports whether the call
// streams; ok is false when it has refused the call as Vertex would: 401 UNAUTHENTICATED
// without the OAuth token, 400 INVALID_ARGUMENT for a body Vertex would not take.
func (f *fault) vertexGeminiCall(token string, body []byte) (stream, ok bool) {
	if got := f.r.Header.Get("Authorization"); token == "" || got != "Bearer "+token {
		f.googleError(http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return false, false
	}
	var method string
	f.model, method = vertexCall(f.r.URL.EscapedPath())
	if msg := f.vertexGeminiMisuse(method, body); msg != "" {
		f.googleError(http.StatusBadRequest, "INVALID_ARGUMENT", "fault upstream: "+msg)
		return false, false
	}
	return method == "streamGenerateContent", true
}

// vertexGeminiMisuse says what Vertex would refuse in a Gemini call, "" when nothing; it
// counts a :predict call's instances into f.inputs.
func (f *fault) vertexGeminiMisuse(method string, body []byte) string {
	var b struct {
		Contents []struct {
			Role string `json:"role"`
		} `json:"contents"`
		// Neither is a member of Vertex's CountTokensRequest, which has no wrapped request.
		GenerateContentRequest json.RawMessage `json:"generateContentRequest"`
		ToolConfig             json.RawMessage `json:"toolConfig"`
		Instances              []struct {
			Content string `json:"content"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "the body is not JSON"
	}
	switch method {
	case "streamGenerateContent":
		if f.r.URL.Query().Get("alt") != "sse" {
			return "streamGenerateContent without alt=sse streams a JSON array, not SSE"
		}
	case "generateContent":
	case "countTokens":
		if b.GenerateContentRequest != nil || b.ToolConfig != nil {
			return `countTokens with generateContentRequest or toolConfig: Vertex takes contents, systemInstruction and tools at the top level`
		}
	case "predict":
		if len(b.Instances) == 0 {
			return ":predict without instances"
		}
		for i, in := range b.Instances {
			if in.Content == "" {
				return "instances[" + strconv.Itoa(i) + "] without content"
			}
		}
		f.inputs = len(b.Instances)
		return ""
	default:
		return "unknown method " + strconv.Quote(method)
	}
	if len(b.Contents) == 0 {
		return method + " without contents"
	}
	for i, c := range b.Contents {
		if c.Role != "user" && c.Role != "model" {
			// Vertex's own words: unlike the Gemini API it does not default the role.
			return "contents[" + strconv.Itoa(i) + "]: Please use a valid role: user, model."
		}
	}
	return ""
}

// googleError answers a google.rpc error.
func (f *fault) googleError(status int, code, msg string) {
	m, _ := json.Marshal(msg)
	f.json(status, `{"error":{"code":`+strconv.Itoa(status)+`,"message":`+string(m)+`,"status":"`+code+`"}}`)
}

// vertexGeminiQuota is Vertex's quota error for a Gemini model: the platform's
// RESOURCE_EXHAUSTED, with neither RetryInfo nor Retry-After (the Gemini API sends RetryInfo).
const vertexGeminiQuota = `{"error":{"code":429,"message":"fault 429: Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.","status":"RESOURCE_EXHAUSTED"}}`

// predictReply is a :predict reply: one prediction per instance, each with its token count.
func (f *fault) predictReply() string {
	p := `{"embeddings":{"statistics":{"truncated":false,"token_count":5},"values":[0.1,0.2,0.3]}}`
	return `{"predictions":[` + strings.Repeat(p+",", f.inputs-1) + p + `],"metadata":{"billableCharacterCount":2}}`
}
