package provider

import "strings"

// Azure OpenAI has the Responses API on its v1 API only: {base}/openai/v1/responses, and
// /openai/v1/responses/{id} for stored responses, the deployment as the body's model as for
// chat ("preview" adds ?api-version=preview). A dated api_version has no Responses API, so
// such a backend gets Responses requests translated to Chat Completions (config's
// ServesResponses refuses wire_api responses there).

// azureResponsesPath is the Responses endpoint of Azure's v1 API version (v1 or preview).
func azureResponsesPath(version string) string {
	if version == "preview" {
		return "/openai/v1/responses?api-version=preview"
	}
	return "/openai/v1/responses"
}

// responsesURI is the path and query, below the base URL, of the backend's Responses
// endpoint with rest (as "/{id}") appended to the path and rawQuery to the query.
func (b *Backend) responsesURI(rest, rawQuery string) string {
	at := b.responsesAt
	if at == "" {
		at = "/responses"
	}
	path, query, _ := strings.Cut(at, "?")
	path += rest
	switch {
	case query != "" && rawQuery != "":
		return path + "?" + query + "&" + rawQuery
	case query != "":
		return path + "?" + query
	case rawQuery != "":
		return path + "?" + rawQuery
	}
	return path
}
