// Package registry resolves prompt slugs to versioned templates and renders them. Prompts come
// from ordered sources (registry.go): a directory of prompt files re-read when they change
// (file.go), or an upstream registry speaking the Tracia prompts API (http.go) behind a cache
// (cache.go) with a TTL, an LRU bound, one upstream request per key at a time, stale serving
// while the upstream fails, remembered 404s and ETag revalidation. render.go fills
// {{variables}} in. timestamps.go gives every prompt the dates and message ids the Tracia SDKs
// require, stable across restarts. write.go creates, updates and deletes prompts (the
// registry's side: input checks, which source, conflicts), file_write.go does it in a file
// source marked writable (atomic replacement of the file), lock.go serialises the writers in
// the process and across processes.
//
// A prompt version's stored provider is kept as metadata only: runs are routed by the
// version's model, through the configured routes, like any other request.
package registry
