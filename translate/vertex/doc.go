// Package vertex holds the Vertex AI wire format that is Vertex's own rather than Gemini's or
// Anthropic's (those live in translate/gemini and translate/anthropic, and Vertex serves them
// on its publisher model paths): the prediction API's embeddings, POST
// .../publishers/google/models/{model}:predict. It does no I/O.
package vertex
