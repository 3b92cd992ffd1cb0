package faults

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The Bedrock wire (Converse, ConverseStream, CountTokens): see Upstream's doc comment.

// bedrockModelPrefix and bedrockModelSuffix frame the fault in a Bedrock model id:
// anthropic.claude-drip-5-v1:0 plays drip-5.
const (
	bedrockModelPrefix = "anthropic.claude-"
	bedrockModelSuffix = "-v1:0"
)

// bedrockErrorType is the X-Amzn-ErrorType of an exception as Bedrock's front end sends it,
// the exception's name with the namespace after a colon (the decoder keeps the name alone).
func bedrockErrorType(exception string) string {
	return exception + ":http://internal.amazon.com/coral/com.amazon.bedrock/"
}

func (f *fault) bedrock() bool { return f.wire == wireBedrock || f.wire == wireBedrockCount }

// bedrockWire tells a Bedrock path, /model/{modelId}/{operation}, by its operation.
func bedrockWire(path string) wire {
	if strings.HasSuffix(path, "/count-tokens") {
		return wireBedrockCount
	}
	return wireBedrock
}

// bedrockOperation splits a Bedrock path as sent, /model/{modelId}/{operation}, into the model
// id, unescaped (tracegate escapes the label as the AWS SDK does: ':' is %3A), and operation.
func bedrockOperation(path string) (model, op string) {
	rest := strings.TrimPrefix(path, "/model/")
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest, op = rest[:i], rest[i+1:]
	}
	if m, err := url.PathUnescape(rest); err == nil {
		rest = m
	}
	return rest, op
}

// bedrockCall reads a Bedrock request: the model id from the path, whether it streams from the
// operation, and the fault from the id. A request Bedrock would refuse (bad signature, unknown
// operation or model id, a body it would not take) is answered with Bedrock's error here, and
// ok is false.
func (f *fault) bedrockCall(sigV4 func(*http.Request, []byte) string, body []byte) (name string, stream, ok bool) {
	model, op := bedrockOperation(f.r.URL.EscapedPath())
	f.model = model
	status, exception, msg := f.bedrockMisuse(op, sigV4, body)
	if msg != "" {
		f.bedrockError(status, exception, "fault upstream: "+msg)
		return "", false, false
	}
	name = strings.TrimSuffix(strings.TrimPrefix(model, bedrockModelPrefix), bedrockModelSuffix)
	return name, op == "converse-stream", true
}

// bedrockMisuse says what Bedrock would refuse in a call, with the status and exception it
// would answer, msg "" when nothing: a request not signed with the test credentials (403), an
// operation it does not have (404), a model id it does not know, or a body that is not the
// operation's (400). Converse takes the model from the path and streams by the operation, so a
// body naming either is tracegate's mistake; CountTokens takes the Converse input without
// inferenceConfig.
func (f *fault) bedrockMisuse(op string, sigV4 func(*http.Request, []byte) string, body []byte) (status int, exception, msg string) {
	switch {
	case f.r.Header.Get("Authorization") == "":
		return http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"
	case sigV4 == nil:
		return http.StatusForbidden, "InvalidSignatureException", "no SigV4 check configured"
	}
	if problem := sigV4(f.r, body); problem != "" {
		return http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided: " + problem
	}
	if f.r.Method != http.MethodPost || (op != "converse" && op != "converse-stream" && op != "count-tokens") {
		return http.StatusNotFound, "UnknownOperationException", f.r.Method + " " + strconv.Quote(op)
	}
	if !strings.HasPrefix(f.model, bedrockModelPrefix) || !strings.HasSuffix(f.model, bedrockModelSuffix) {
		return http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid: " + strconv.Quote(f.model)
	}
	var converse struct {
		Model           *json.RawMessage  `json:"model"`
		Stream          *json.RawMessage  `json:"stream"`
		Messages        []json.RawMessage `json:"messages"`
		InferenceConfig *json.RawMessage  `json:"inferenceConfig"`
	}
	if op == "count-tokens" {
		var c struct {
			Input struct {
				Converse *json.RawMessage `json:"converse"`
			} `json:"input"`
		}
		if err := json.Unmarshal(body, &c); err != nil || c.Input.Converse == nil {
			return http.StatusBadRequest, "ValidationException", "count-tokens without input.converse"
		}
		body = *c.Input.Converse
	}
	switch {
	case json.Unmarshal(body, &converse) != nil:
		return http.StatusBadRequest, "ValidationException", "the body is not a JSON object"
	case converse.Model != nil || converse.Stream != nil:
		return http.StatusBadRequest, "ValidationException", "extraneous key [model] or [stream] is not permitted"
	case len(converse.Messages) == 0:
		return http.StatusBadRequest, "ValidationException", "messages: at least one message is required"
	case op == "count-tokens" && converse.InferenceConfig != nil:
		return http.StatusBadRequest, "ValidationException", "extraneous key [inferenceConfig] is not permitted"
	}
	return 0, "", ""
}

// bedrockError answers an HTTP error as Bedrock does: {"message"} with the exception in
// X-Amzn-ErrorType, and no Retry-After (AWS clients pace retries by their own backoff).
func (f *fault) bedrockError(status int, exception, msg string) {
	h := f.w.Header()
	h.Set("X-Amzn-ErrorType", bedrockErrorType(exception))
	h.Set("X-Amzn-RequestId", "fault-request-1")
	m, _ := json.Marshal(msg)
	f.json(status, `{"message":`+string(m)+`}`)
}

// bedrockFault answers 429 and 529 in Bedrock's shapes: 429 is ThrottlingException, and
// Bedrock's overload, 529's meaning, is 503 ServiceUnavailableException; both are retried.
func (f *fault) bedrockFault(status int) {
	if status == http.StatusTooManyRequests {
		f.bedrockError(status, "ThrottlingException", "fault 429: Too many requests, please wait before trying again.")
		return
	}
	f.bedrockError(http.StatusServiceUnavailable, "ServiceUnavailableException", "fault "+f.name+": The service is unavailable. Please try again later.")
}

func (f *fault) bedrockReply() string {
	if f.wire == wireBedrockCount {
		return `{"inputTokens":5}`
	}
	// Converse replies carry neither id nor model.
	return `{"output":{"message":{"role":"assistant","content":[{"text":"fine"}]}},"stopReason":"end_turn",` +
		`"usage":{"inputTokens":5,"outputTokens":1,"totalTokens":6},"metrics":{"latencyMs":12}}`
}

// bedrockPad is the "p" member Bedrock adds to every stream event, random letters of varying
// length that hide the size of the text (provider/testdata/bedrock_converse_stream.jsonl).
func bedrockPad(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	return `,"p":"` + letters[:1+n*7%len(letters)] + `"`
}

// bedrockFrame writes one event-stream frame, flushed; false when the caller has gone.
func (f *fault) bedrockFrame(headers eventstream.Headers, payload string) bool {
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: headers, Payload: []byte(payload)}); err != nil {
		panic(err) // only a header over the format's limits fails, and these are constants
	}
	return f.raw(b.String())
}

func bedrockEventHeaders(typ string) eventstream.Headers {
	return eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}
}

// bedrockEvent writes one ConverseStream event of type typ whose JSON object holds members.
func (f *fault) bedrockEvent(typ, members string) bool {
	f.events++
	return f.bedrockFrame(bedrockEventHeaders(typ), "{"+members+bedrockPad(f.events)+"}")
}

func (f *fault) bedrockStart() {
	f.w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	f.w.Header().Set("X-Amzn-RequestId", "fault-request-1")
	// A text block has no contentBlockStart: its deltas open it (only tool blocks start).
	f.bedrockEvent("messageStart", `"role":"assistant"`)
}

func (f *fault) bedrockChunk(text string) bool {
	return f.bedrockEvent("contentBlockDelta", `"contentBlockIndex":0,"delta":{"text":"`+text+`"}`)
}

// bedrockException is the exception frame ConverseStream sends when the model fails mid-stream.
func (f *fault) bedrockException() {
	f.bedrockFrame(eventstream.Headers{
		{Name: ":exception-type", Value: eventstream.StringValue("modelStreamErrorException")},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
	}, `{"message":"fault errevent: the model stream failed","originalStatusCode":500,"originalMessage":"internal error"}`)
}

// bedrockEnd closes the text block and the message, then sends metadata, the usage, which is
// the stream's last frame. With terminate unset the connection is reset where metadata would
// come: the usage arrives last on this wire, so a cut after it is no cut at all, and this is
// the nearest Bedrock has, a stream finished but cut before its usage. A reset, not a close:
// tracegate takes a clean end after messageStop as a whole stream, as the AWS SDK does.
func (f *fault) bedrockEnd(terminate bool) {
	f.bedrockEvent("contentBlockStop", `"contentBlockIndex":0`)
	f.bedrockEvent("messageStop", `"stopReason":"end_turn"`)
	if !terminate {
		f.reset()
		return
	}
	f.bedrockEvent("metadata", `"usage":{"inputTokens":5,"outputTokens":3,"totalTokens":8},"metrics":{"latencyMs":150}`)
}
