package faults

import (
	"net/http"
	"strings"
)

// Azure OpenAI on a dated api-version: OpenAI's wire under the deployment's path, with the
// key in api-key rather than Authorization. The Upstream speaks only this form: the v1 API
// (/openai/v1/...) is OpenAI's own paths under a prefix, which the oai provider covers.

// azureWire is the wire of a path under /openai/: each is answered as Azure, so that a call
// tracegate sent to the wrong one of Azure's paths is refused rather than served as OpenAI's.
func azureWire(path string) wire {
	if strings.HasSuffix(path, "/embeddings") {
		return wireAzureEmbeddings
	}
	return wireAzureChat
}

func (f *fault) azure() bool { return f.wire == wireAzureChat || f.wire == wireAzureEmbeddings }

// azureCall takes the fault from the deployment in the path, since Azure ignores the body's
// model there, after refusing what Azure refuses: a wrong api-key (401) and an api-version
// other than the resource's (404, as Azure answers a version it does not serve). It reports
// false when it has answered.
func (f *fault) azureCall(key, version string) bool {
	if got := f.r.Header.Get("api-key"); key == "" || got != key {
		f.json(http.StatusUnauthorized, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)
		return false
	}
	if got := f.r.URL.Query().Get("api-version"); version == "" || got != version {
		f.json(http.StatusNotFound, `{"error":{"code":"404","message":"Resource not found"}}`)
		return false
	}
	// The v1 API's paths would be served by a resource, but not to a provider configured
	// with a dated api-version: tracegate must not send there.
	rest, ok := strings.CutPrefix(f.r.URL.Path, "/openai/deployments/")
	deployment, op, _ := strings.Cut(rest, "/")
	if !ok || deployment == "" || op != "chat/completions" && op != "embeddings" {
		f.json(http.StatusNotFound, `{"error":{"code":"404","message":"Resource not found"}}`)
		return false
	}
	f.model = deployment
	return true
}

// azureErrorBody is what Azure answers for status: its rate limiter's 429 is not OpenAI's
// (code "429", no type or param, the wait in the message and in Retry-After), and its
// overload is a 503 in the same envelope.
func (f *fault) azureErrorBody(status int) string {
	if status == http.StatusTooManyRequests {
		return `{"error":{"code":"429","message":"fault 429: Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 0 seconds."}}`
	}
	return `{"error":{"code":"ServiceUnavailable","message":"fault ` + f.name + `: The service is temporarily unable to process your request. Please try again later."}}`
}

// azureFilterResults is the content filter's verdict Azure adds to prompts and choices.
const azureFilterResults = `{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`

// azureReply is a chat completion as Azure sends it: OpenAI's, with the content filter's
// results on the prompt and the choice.
func (f *fault) azureReply() string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"` + f.model + `",` +
		`"prompt_filter_results":[{"prompt_index":0,"content_filter_results":` + azureFilterResults + `}],` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop","content_filter_results":` + azureFilterResults + `}],` +
		`"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`
}

// azureStreamStart sends the chunk Azure opens a stream with: the prompt's filter results,
// with no choices and an empty id, model and object, which a reader must pass over.
func (f *fault) azureStreamStart() {
	f.raw(`data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":` + azureFilterResults + `}]}` + "\n\n")
}
