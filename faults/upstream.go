package faults

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Upstream is a provider that misbehaves on request. It speaks OpenAI Chat Completions (paths
// ending in /chat/completions), OpenAI Responses (/responses), OpenAI embeddings (/embeddings),
// Anthropic Messages (/v1/messages) and Gemini (/v1beta/models/{model}:generateContent,
// :streamGenerateContent?alt=sse and :batchEmbedContents, where the model is in the path and
// the method says whether the call streams); the model asked for names the fault, its first
// dash-separated word the behaviour. It also answers the calls that are not model calls:
// Anthropic's POST /v1/messages/count_tokens ({"input_tokens":5}; the fault is the body's
// model), Gemini's /v1beta/models/{model}:countTokens ({"totalTokens":5,...}; the fault is the
// URL's model) and OpenAI's GET and DELETE /v1/responses/{id} (a Response object with that id,
// or {"id":...,"object":"response","deleted":true}), where the fault is the id without its
// resp_ prefix: GET /v1/responses/resp_hang plays hang, resp_429 plays 429.
//
//	ok        a normal reply (a stream when one is asked for)
//	hang      no reply at all, until the caller drops the call
//	stall     a stream's first chunk, then silence until the caller drops the call
//	reset     the connection reset: before the reply, or after a stream's first chunk
//	truncate  a reply cut short: a body shorter than its Content-Length, a stream without its end
//	cutusage  a stream cut after its usage (5 in, 3 out) but before its terminator
//	garbage   a 200 that is not JSON, or a stream event that is not JSON
//	huge      a 200 body of 64 MiB
//	drip      a stream of drip-N chunks (default 20), one every 50 ms
//	errevent  a stream that carries the provider's error event after its first chunk
//	429, 529  that status, every time (Retry-After: 0)
//
// count_tokens and stored responses are never streams: their faults are those of a call
// (hang, reset, truncate, garbage, huge, 429, 529; anything else answers as ok), in the
// wire's own error shapes (Anthropic's for count_tokens, Gemini's for countTokens, OpenAI's
// for stored responses).
//
// On the Gemini wire every fault keeps its meaning in Gemini's own shapes (SPEC 3, the
// recorded fixtures): streams are `data:` chunks framed with CRLF as Google's server frames
// them, each a whole GenerateContentResponse carrying usageMetadata (5 prompt tokens,
// candidates counted cumulatively), and a whole stream ends with a chunk carrying
// finishReason STOP, then the connection's close (there is no [DONE]). So truncate and
// cutusage are the same cut there: the stream closes after its third chunk (usage 5 and 3),
// before the one with finishReason. errevent is the google.rpc error object Gemini puts in a
// chunk, {"error":{"code":500,...,"status":"INTERNAL"}}; 429 is RESOURCE_EXHAUSTED with a
// per-minute QuotaFailure and a RetryInfo retryDelay instead of Retry-After (Gemini sends none),
// and 529, Gemini's overload, is 503 UNAVAILABLE.
//
// It also speaks Vertex AI's Claude wire: POST
// /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict (a call) and
// :streamRawPredict (a stream), and count-tokens:rawPredict (the model in the body). The
// model is Vertex's Claude id, claude-{fault}@{date}: claude- and the @date are dropped to
// name the fault (claude-drip-5@20250929 plays drip-5). The request must carry the OAuth
// token BearerToken (else 401 UNAUTHENTICATED) and the Messages body as Vertex takes it:
// anthropic_version vertex-2023-10-16 in place of model, and stream as the method says (else
// 400 INVALID_ARGUMENT). The replies and streams are Anthropic's, as Vertex passes them on,
// errevent included; 529 is Anthropic's 529 overloaded_error, but 429 is the platform's
// quota error, google.rpc RESOURCE_EXHAUSTED without RetryInfo; neither carries Retry-After
// (the backoff alone paces the retries).
//
// And it speaks AWS Bedrock: POST /model/{modelId}/converse (a call), /converse-stream (a
// stream) and /count-tokens, the model id in the path as the AWS SDK escapes it. The id is
// anthropic.claude-{fault}-v1:0 (anthropic.claude-drip-5-v1:0 plays drip-5). The request must
// pass the SigV4 check (else 403 InvalidSignatureException, or
// MissingAuthenticationTokenException without Authorization) and carry the operation's body:
// Converse's without model or stream members, CountTokens' {"input":{"converse":...}} without
// inferenceConfig (else 400 ValidationException). Errors are Bedrock's {"message"} with the
// exception in X-Amzn-ErrorType and no Retry-After: 429 is ThrottlingException, 529, the
// overload, 503 ServiceUnavailableException. A truncated call is the first half of the
// Converse reply. Streams are AWS event-stream frames (application/vnd.amazon.eventstream,
// encoded by the AWS SDK's encoder), each event padded with Bedrock's "p" member:
// messageStart, a contentBlockDelta per chunk, contentBlockStop, messageStop, then metadata
// with the usage (5 in, 3 out), the last frame. errevent is an exception frame
// (modelStreamErrorException), garbage a well-framed event whose payload is not JSON,
// truncate the close after the deltas (before messageStop). As the usage is the last frame,
// no stream is cut after it and before its end: cutusage resets the connection after
// messageStop instead, where metadata would come. count-tokens answers {"inputTokens":5}.
//
// It also speaks Azure OpenAI's deployment wire: POST
// /openai/deployments/{deployment}/chat/completions and /embeddings?api-version=..., where
// the deployment names the fault (Azure ignores the body's model there) and the replies,
// streams and errevent are OpenAI's, with the content filter's results Azure adds (streams
// open with a chunk of the prompt's filter results and no choices). 429 is Azure's rate
// limit, {"error":{"code":"429","message":...}} (no type), and 529, Azure's overload, is 503;
// both with Retry-After: 0. A call without the api-key header AzureAPIKey is 401; one whose
// api-version is not AzureAPIVersion, or to any other path under /openai/, is 404
// (upstream_azure.go).
//
// And Vertex AI's Gemini wire: POST
// /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent,
// :streamGenerateContent?alt=sse, :countTokens and :predict (embeddings), the model naming the
// fault as on the Gemini API (upstream_vertex_gemini.go). Replies, streams, errevent and 529
// (503 UNAVAILABLE) are the Gemini paragraph's; 429 is the platform's RESOURCE_EXHAUSTED
// without RetryInfo. countTokens takes contents at the top level, not generateContentRequest;
// :predict takes one instance per text and answers one prediction each with its token_count
// (5). A call without BearerToken is 401 UNAUTHENTICATED; a body Vertex would not take (a
// content without its role, countTokens with generateContentRequest or toolConfig, :predict
// without instances) is 400 INVALID_ARGUMENT.
type Upstream struct {
	// BearerToken is the OAuth access token Vertex calls must carry.
	BearerToken string
	// SigV4 checks a Bedrock call's signature, saying what is wrong ("" when nothing); without
	// it every Bedrock call is refused.
	SigV4 func(r *http.Request, body []byte) string
	// AzureAPIKey and AzureAPIVersion are the api-key header and api-version query parameter
	// Azure calls must carry.
	AzureAPIKey, AzureAPIVersion string

	mu sync.Mutex
	// arrived and dropped count requests per fault: dropped are those whose caller went away
	// before the reply was over.
	arrived, dropped map[string]int
	// Arrived receives the fault of each request as it arrives, Dropped of each request whose
	// caller went away; both drop values nobody reads.
	Arrived, Dropped chan string
}

// NewUpstream returns an Upstream.
func NewUpstream() *Upstream {
	return &Upstream{arrived: map[string]int{}, dropped: map[string]int{}, Arrived: make(chan string, 64), Dropped: make(chan string, 64)}
}

// Counts returns how many requests for fault arrived and how many of them were dropped by
// the caller.
func (u *Upstream) Counts(fault string) (arrived, dropped int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.arrived[fault], u.dropped[fault]
}

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http notices a caller that left only once the body is read.
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
		// Requests are a Gemini batchEmbedContents body's, one per input text.
		Requests []embedContentRequest `json:"requests"`
	}
	_ = json.Unmarshal(body, &req)
	f := fault{w: w, r: r, model: req.Model, wire: wireOf(r.URL.Path)}
	f.anthropic = f.wire == wireAnthropic || f.wire == wireAnthropicCount || f.vertex()
	if f.wire == wireStoredResponse {
		if r.Method != http.MethodGet && r.Method != http.MethodDelete {
			f.json(http.StatusMethodNotAllowed, `{"error":{"message":"fault upstream: `+r.Method+` of a stored response","type":"invalid_request_error","param":null,"code":null}}`)
			return
		}
		_, id, _ := strings.Cut(r.URL.Path, "/responses/")
		f.respID = id
		f.model = strings.TrimPrefix(id, "resp_")
	}
	switch {
	case f.azure():
		if !f.azureCall(u.AzureAPIKey, u.AzureAPIVersion) {
			return
		}
	case f.vertexGemini():
		var ok bool
		if req.Stream, ok = f.vertexGeminiCall(u.BearerToken, body); !ok {
			return
		}
	case f.gemini():
		var method string
		f.model, method = geminiCall(r.URL.Path)
		req.Stream = method == "streamGenerateContent"
		if msg := f.geminiMisuse(method, r.URL.Query().Get("alt"), req.Requests, body); msg != "" {
			f.googleError(http.StatusBadRequest, "INVALID_ARGUMENT", "fault upstream: "+msg)
			return
		}
		f.inputs = len(req.Requests)
	}
	name := f.model
	if f.vertex() {
		var method string
		if f.wire == wireVertexClaude {
			f.model, method = vertexCall(r.URL.EscapedPath())
			req.Stream = method == "streamRawPredict"
		}
		if status, msg := f.vertexMisuse(method, u.BearerToken, body); msg != "" {
			code := map[int]string{http.StatusUnauthorized: "UNAUTHENTICATED", http.StatusBadRequest: "INVALID_ARGUMENT"}[status]
			f.googleError(status, code, "fault upstream: "+msg)
			return
		}
		name, _, _ = strings.Cut(strings.TrimPrefix(f.model, "claude-"), "@")
	}
	if f.bedrock() {
		var ok bool
		if name, req.Stream, ok = f.bedrockCall(u.SigV4, body); !ok {
			return
		}
	}
	f.name, f.arg, _ = strings.Cut(name, "-")
	u.mu.Lock()
	u.arrived[f.name]++
	u.mu.Unlock()
	select {
	case u.Arrived <- f.name:
	default:
	}
	if !f.serve(req.Stream) {
		u.mu.Lock()
		u.dropped[f.name]++
		u.mu.Unlock()
		select {
		case u.Dropped <- f.name:
		default:
		}
	}
}

type fault struct {
	w         http.ResponseWriter
	r         *http.Request
	model     string
	name, arg string
	wire      wire
	anthropic bool
	events    int    // stream events sent, for a Responses event's sequence_number and a Bedrock event's padding
	chunks    int    // Gemini text chunks sent, for their cumulative candidatesTokenCount
	inputs    int    // the texts of a Gemini batchEmbedContents call
	respID    string // the id of a stored-response call
}

// wire is the API a request came to.
type wire int

const (
	wireChat wire = iota
	wireAnthropic
	wireResponses
	wireEmbeddings
	wireGemini           // generateContent and streamGenerateContent
	wireGeminiEmbeddings // batchEmbedContents
	wireAnthropicCount   // Anthropic's /v1/messages/count_tokens
	wireGeminiCount      // Gemini's countTokens
	wireStoredResponse   // OpenAI's GET and DELETE /v1/responses/{id}
	wireVertexClaude     // Vertex AI's rawPredict and streamRawPredict of a Claude model
	wireVertexCount      // Vertex AI's count-tokens:rawPredict
	wireBedrock          // Bedrock's converse and converse-stream
	wireBedrockCount     // Bedrock's count-tokens
	wireAzureChat        // Azure's /openai/deployments/{d}/chat/completions
	wireAzureEmbeddings  // Azure's /openai/deployments/{d}/embeddings
	wireVertexGemini     // Vertex AI's generateContent and streamGenerateContent
	wireVertexPredict    // Vertex AI's :predict of an embedding model
	wireVertexGemCount   // Vertex AI's countTokens of a Gemini model
)

func wireOf(path string) wire {
	switch {
	case strings.HasPrefix(path, "/model/"):
		return bedrockWire(path)
	case strings.HasSuffix(path, "/publishers/anthropic/models/count-tokens:rawPredict"):
		return wireVertexCount
	case strings.Contains(path, "/publishers/anthropic/models/"):
		return wireVertexClaude
	case strings.Contains(path, "/publishers/google/models/"):
		return vertexGeminiWire(path)
	case strings.HasPrefix(path, "/openai/"):
		return azureWire(path)
	case strings.Contains(path, "/v1beta/models/"):
		switch _, method := geminiCall(path); method {
		case "batchEmbedContents":
			return wireGeminiEmbeddings
		case "countTokens":
			return wireGeminiCount
		}
		return wireGemini
	case strings.HasSuffix(path, "/v1/messages"):
		return wireAnthropic
	case strings.HasSuffix(path, "/v1/messages/count_tokens"):
		return wireAnthropicCount
	case strings.HasSuffix(path, "/responses"):
		return wireResponses
	case strings.Contains(path, "/responses/"):
		return wireStoredResponse
	case strings.HasSuffix(path, "/embeddings"):
		return wireEmbeddings
	}
	return wireChat
}

func (f *fault) gemini() bool {
	return f.wire == wireGemini || f.wire == wireGeminiEmbeddings || f.wire == wireGeminiCount || f.vertexGemini()
}

func (f *fault) vertex() bool { return f.wire == wireVertexClaude || f.wire == wireVertexCount }

// vertexCall splits a Vertex path as sent, .../publishers/{publisher}/models/{model}:{method},
// into its model, unescaped (tracegate escapes the segment, ':' included), and method.
func vertexCall(path string) (model, method string) {
	_, rest, _ := strings.Cut(path, "/models/")
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest, method = rest[:i], rest[i+1:]
	}
	if m, err := url.PathUnescape(rest); err == nil {
		rest = m
	}
	return rest, method
}

// vertexMisuse says what Vertex would refuse in a Claude call, with the status it would
// answer, "" when nothing: a missing or wrong OAuth token (401), an unknown method, a body
// with a model or without anthropic_version vertex-2023-10-16, or a stream member that is not
// the method's (400). count-tokens:rawPredict takes Anthropic's count_tokens body, model and
// all, and no anthropic_version check is made on it.
func (f *fault) vertexMisuse(method, token string, body []byte) (int, string) {
	if got := f.r.Header.Get("Authorization"); token == "" || got != "Bearer "+token {
		return http.StatusUnauthorized, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
	}
	if f.wire == wireVertexCount {
		return 0, ""
	}
	var b struct {
		Model            *string `json:"model"`
		AnthropicVersion string  `json:"anthropic_version"`
		Stream           bool    `json:"stream"`
	}
	switch {
	case method != "rawPredict" && method != "streamRawPredict":
		return http.StatusBadRequest, "unknown method " + strconv.Quote(method)
	case json.Unmarshal(body, &b) != nil:
		return http.StatusBadRequest, "the body is not JSON"
	case b.Model != nil:
		return http.StatusBadRequest, "a model in the body: Vertex takes it from the URL"
	case b.AnthropicVersion != "vertex-2023-10-16":
		return http.StatusBadRequest, "anthropic_version " + strconv.Quote(b.AnthropicVersion)
	case b.Stream != (method == "streamRawPredict"):
		return http.StatusBadRequest, method + " with stream " + strconv.FormatBool(b.Stream)
	}
	return 0, ""
}

// geminiCall splits a Gemini path, /v1beta/models/{model}:{method}, into its model and method.
func geminiCall(path string) (model, method string) {
	_, rest, _ := strings.Cut(path, "/v1beta/models/")
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return rest, ""
}

// embedContentRequest is the part of a batchEmbedContents request the Upstream checks: each
// names the model again, and Gemini requires it to be the URL's.
type embedContentRequest struct {
	Model string `json:"model"`
}

// geminiMisuse says what is wrong with a Gemini call that its own server would refuse or
// answer in another format, "" when nothing is; the Upstream then answers 400 rather than
// play a fault over a request tracegate should not have sent.
func (f *fault) geminiMisuse(method, alt string, requests []embedContentRequest, body []byte) string {
	switch method {
	case "countTokens":
		// tracegate wraps the GenerateContentRequest so that the system instruction and tools
		// are counted; Gemini requires that request's model to be the URL's.
		var c struct {
			GenerateContentRequest *struct {
				Model    string            `json:"model"`
				Contents []json.RawMessage `json:"contents"`
			} `json:"generateContentRequest"`
		}
		if err := json.Unmarshal(body, &c); err != nil || c.GenerateContentRequest == nil {
			return "countTokens without generateContentRequest"
		}
		if g := c.GenerateContentRequest; g.Model != "models/"+f.model || len(g.Contents) == 0 {
			return "countTokens generateContentRequest with model " + strconv.Quote(g.Model) + " and " + strconv.Itoa(len(g.Contents)) + " contents, not the URL's models/" + f.model
		}
	case "generateContent":
	case "streamGenerateContent":
		if alt != "sse" {
			return "streamGenerateContent without alt=sse streams a JSON array, not SSE"
		}
	case "batchEmbedContents":
		if len(requests) == 0 {
			return "batchEmbedContents without requests"
		}
		for _, r := range requests {
			if r.Model != "models/"+f.model {
				return "a request's model " + strconv.Quote(r.Model) + " is not the URL's models/" + f.model
			}
		}
	default:
		return "unknown method " + strconv.Quote(method)
	}
	return ""
}

// serve plays the fault; it reports false when the caller went away first.
func (f *fault) serve(stream bool) bool {
	switch f.name {
	case "hang":
		<-f.r.Context().Done()
		return false
	case "429", "529":
		status, _ := strconv.Atoi(f.name)
		if f.bedrock() {
			f.bedrockFault(status)
			return true
		}
		if status == 529 && (f.gemini() || f.azure()) {
			status = http.StatusServiceUnavailable // their overload (Gemini's: SPEC 3.6)
		}
		if !f.gemini() && !f.vertex() { // Google's front end sends no Retry-After
			f.w.Header().Set("Retry-After", "0")
		}
		f.json(status, f.errorBody(status))
		return true
	case "reset":
		if stream {
			f.startStream()
			f.chunk("first ")
		}
		f.reset()
		return true
	case "huge":
		f.w.Header().Set("Content-Type", "application/json")
		pad := bytes.Repeat([]byte("x"), 64<<10)
		io.WriteString(f.w, `{"pad":"`)
		for i := 0; i < 1024; i++ {
			if _, err := f.w.Write(pad); err != nil {
				return false
			}
		}
		io.WriteString(f.w, `"}`)
		return true
	case "garbage":
		if !stream {
			f.w.Header().Set("Content-Type", "application/json")
			io.WriteString(f.w, "<html><body>502 Bad Gateway</body></html>")
			return true
		}
		f.startStream()
		f.chunk("first ")
		f.data("{this is not json")
		return true
	}
	if !stream {
		if f.name == "truncate" {
			f.w.Header().Set("Content-Length", "4096")
			f.w.Header().Set("Content-Type", "application/json")
			if f.gemini() || f.vertex() || f.bedrock() {
				reply := f.reply() // the first half of the whole reply
				io.WriteString(f.w, reply[:len(reply)/2])
			} else {
				io.WriteString(f.w, `{"id":"x","object":"chat.compl`)
			}
			f.flush()
			f.reset()
			return true
		}
		f.json(http.StatusOK, f.reply())
		return true
	}
	f.startStream()
	n := 3
	if f.name == "drip" {
		n = 20
		if v, err := strconv.Atoi(f.arg); err == nil {
			n = v
		}
	}
	for i := 0; i < n; i++ {
		if !f.chunk("tok ") {
			return false
		}
		switch {
		case f.name == "stall":
			<-f.r.Context().Done()
			return false
		case f.name == "errevent":
			f.errorEvent()
			return true
		case f.name == "drip":
			select {
			case <-time.After(50 * time.Millisecond):
			case <-f.r.Context().Done():
				return false
			}
		}
	}
	switch f.name {
	case "truncate":
	case "cutusage":
		f.endStream(false)
	default:
		f.endStream(true)
	}
	return true
}

func (f *fault) json(status int, body string) {
	f.w.Header().Set("Content-Type", "application/json")
	f.w.WriteHeader(status)
	io.WriteString(f.w, body)
}

func (f *fault) errorBody(status int) string {
	if f.azure() {
		return f.azureErrorBody(status)
	}
	if f.vertexGemini() && status == http.StatusTooManyRequests {
		return vertexGeminiQuota
	}
	if f.gemini() {
		if status == http.StatusTooManyRequests {
			// A per-minute quota: retryable, with the wait in RetryInfo (SPEC 3.6).
			return `{"error":{"code":429,"message":"fault 429","status":"RESOURCE_EXHAUSTED","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}`
		}
		return `{"error":{"code":` + strconv.Itoa(status) + `,"message":"fault ` + f.name + `: the model is overloaded","status":"UNAVAILABLE"}}`
	}
	if f.vertex() && status == http.StatusTooManyRequests {
		// The platform's quota error, not Anthropic's: Vertex meters Claude calls itself.
		return `{"error":{"code":429,"message":"fault 429: Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-fault. Please submit a quota increase request.","status":"RESOURCE_EXHAUSTED"}}`
	}
	if f.anthropic {
		typ := "rate_limit_error"
		if status == 529 {
			typ = "overloaded_error"
		}
		return `{"type":"error","error":{"type":"` + typ + `","message":"fault ` + f.name + `"}}`
	}
	return `{"error":{"message":"fault ` + f.name + `","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`
}

func (f *fault) reply() string {
	if f.bedrock() {
		return f.bedrockReply()
	}
	switch f.wire {
	case wireAnthropicCount, wireVertexCount:
		return `{"input_tokens":5}`
	case wireGeminiCount, wireVertexGemCount:
		return `{"totalTokens":5,"promptTokensDetails":[{"modality":"TEXT","tokenCount":5}]}`
	case wireStoredResponse:
		if f.r.Method == http.MethodDelete {
			return `{"id":"` + f.respID + `","object":"response","deleted":true}`
		}
		return `{"id":"` + f.respID + `","object":"response","created_at":1,"status":"completed","model":"gpt-fault","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"fine","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}`
	case wireGemini, wireVertexGemini:
		return `{"candidates":[{"content":{"parts":[{"text":"fine"}],"role":"model"},"finishReason":"STOP","index":0}],` +
			`"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"` + f.model + `","responseId":"fault-response-1"}`
	case wireGeminiEmbeddings:
		// One embedding per request; Gemini reports no usage for embeddings.
		return `{"embeddings":[` + strings.Repeat(`{"values":[0.1,0.2,0.3]},`, f.inputs-1) + `{"values":[0.1,0.2,0.3]}]}`
	case wireResponses:
		return `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"` + f.model + `","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"fine","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}`
	case wireVertexPredict:
		return f.predictReply()
	case wireAzureChat:
		return f.azureReply()
	case wireEmbeddings, wireAzureEmbeddings:
		return `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}],"model":"` + f.model + `","usage":{"prompt_tokens":5,"total_tokens":5}}`
	}
	if f.anthropic {
		return `{"id":"msg_1","type":"message","role":"assistant","model":"` + f.model + `","content":[{"type":"text","text":"fine"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1}}`
	}
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"` + f.model + `","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`
}

func (f *fault) startStream() {
	if f.bedrock() {
		f.bedrockStart()
		return
	}
	f.w.Header().Set("Content-Type", "text/event-stream")
	if f.wire == wireAzureChat {
		f.azureStreamStart()
		return
	}
	if f.wire == wireResponses {
		f.responsesEvent("response.created", `"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"`+f.model+`","output":[]}`)
		return
	}
	if f.anthropic {
		f.raw(`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"` + f.model + `","content":[],"usage":{"input_tokens":5,"output_tokens":0}}}` + "\n\n" +
			`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n")
	}
}

// chunk writes one text delta and flushes it; false when the caller has gone.
func (f *fault) chunk(text string) bool {
	if f.bedrock() {
		return f.bedrockChunk(text)
	}
	if f.gemini() {
		f.chunks++
		return f.data(f.geminiChunk(`{"text":"`+text+`"}`, ""))
	}
	if f.wire == wireResponses {
		return f.responsesEvent("response.output_text.delta", `"item_id":"msg_1","output_index":0,"content_index":0,"delta":"`+text+`"`)
	}
	if f.anthropic {
		return f.raw(`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"` + text + `"}}` + "\n\n")
	}
	return f.raw(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"` + f.model + `","choices":[{"index":0,"delta":{"content":"` + text + `"},"finish_reason":null}]}` + "\n\n")
}

func (f *fault) errorEvent() {
	if f.bedrock() {
		f.bedrockException()
		return
	}
	if f.gemini() {
		f.data(`{"error":{"code":500,"message":"fault errevent","status":"INTERNAL"}}`)
		return
	}
	if f.wire == wireResponses {
		f.responsesEvent("error", `"code":"server_error","message":"fault errevent","param":null`)
		return
	}
	if f.anthropic {
		f.raw("event: error\n" + `data: {"type":"error","error":{"type":"overloaded_error","message":"fault errevent"}}` + "\n\n")
		return
	}
	f.raw(`data: {"error":{"message":"fault errevent","type":"server_error","param":null,"code":null}}` + "\n\n")
}

// endStream sends the finish and the usage, then the terminator when terminate is set.
func (f *fault) endStream(terminate bool) {
	if f.bedrock() {
		f.bedrockEnd(terminate)
		return
	}
	if f.gemini() {
		// Every chunk carried the usage; the end is the chunk with finishReason, then the
		// close. Without it the stream is cut after the last text chunk.
		if terminate {
			f.data(f.geminiChunk(`{"text":""}`, "STOP"))
		}
		return
	}
	if f.wire == wireResponses {
		// The usage comes with the terminal event alone: a cut before it has none.
		if terminate {
			f.responsesEvent("response.completed", `"response":{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"`+f.model+`","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"tok tok tok ","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":3,"total_tokens":8}}`)
		}
		return
	}
	if f.anthropic {
		f.raw(`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
			`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}` + "\n\n")
		if terminate {
			f.raw(`event: message_stop` + "\n" + `data: {"type":"message_stop"}` + "\n\n")
		}
		return
	}
	f.raw(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"` + f.model + `","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"` + f.model + `","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}` + "\n\n")
	if terminate {
		f.raw("data: [DONE]\n\n")
	}
}

// geminiChunk is one streamed GenerateContentResponse holding part, with finishReason when
// finish is set, and the usage so far: Gemini repeats usageMetadata on every chunk,
// cumulatively (gemini/streaming_text.sse).
func (f *fault) geminiChunk(part, finish string) string {
	candidate := `{"content":{"parts":[` + part + `],"role":"model"},`
	if finish != "" {
		candidate += `"finishReason":"` + finish + `",`
	}
	candidate += `"index":0}`
	return `{"candidates":[` + candidate + `],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":` + strconv.Itoa(f.chunks) +
		`,"totalTokenCount":` + strconv.Itoa(5+f.chunks) + `},"modelVersion":"` + f.model + `","responseId":"fault-response-1"}`
}

// data writes one SSE event holding payload, framed as the wire frames it: CRLF for Gemini
// (Google's server), LF for the others; on Bedrock, a contentBlockDelta frame.
func (f *fault) data(payload string) bool {
	if f.bedrock() {
		return f.bedrockFrame(bedrockEventHeaders("contentBlockDelta"), payload)
	}
	if f.gemini() {
		return f.raw("data: " + payload + "\r\n\r\n")
	}
	return f.raw("data: " + payload + "\n\n")
}

// responsesEvent writes one Responses stream event of type typ with the members fields.
func (f *fault) responsesEvent(typ, fields string) bool {
	seq := strconv.Itoa(f.events)
	f.events++
	return f.raw("event: " + typ + "\n" + `data: {"type":"` + typ + `","sequence_number":` + seq + `,` + fields + "}\n\n")
}

func (f *fault) raw(s string) bool {
	if _, err := io.WriteString(f.w, s); err != nil {
		return false
	}
	f.flush()
	return f.r.Context().Err() == nil
}

func (f *fault) flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

// reset drops the connection with a TCP reset, as a crashed proxy would.
func (f *fault) reset() {
	hj, ok := f.w.(http.Hijacker)
	if !ok {
		return // HTTP/2: the handler's return ends the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
