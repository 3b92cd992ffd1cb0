package gemini

import (
	"net/url"
	"strings"
)

// GeneratePath is the URL path of the unary generateContent call for model. A leading
// "models/" is dropped; a "tunedModels/" name keeps its own collection.
func GeneratePath(model string) string {
	return modelPath(model) + ":generateContent"
}

// StreamPath is the URL path and query of the streaming call for model. alt=sse makes Gemini
// stream SSE events; without it the server streams one JSON array.
func StreamPath(model string) string {
	return modelPath(model) + ":streamGenerateContent?alt=sse"
}

func modelPath(model string) string {
	collection := "/v1beta/models/"
	if rest, ok := strings.CutPrefix(model, "tunedModels/"); ok {
		collection, model = "/v1beta/tunedModels/", rest
	} else {
		model = strings.TrimPrefix(model, "models/")
	}
	// PathEscape keeps ':', which would be read as the start of the method suffix.
	return collection + strings.ReplaceAll(url.PathEscape(model), ":", "%3A")
}
