// Package registry resolves prompt slugs to versioned templates and renders them. Prompts come
// from ordered sources: a directory of prompt files (file.go) or an upstream registry speaking
// the Tracia prompts API (http.go, behind a cache). render.go fills {{variables}} in.
package registry
