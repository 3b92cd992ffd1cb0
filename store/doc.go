// Package store keeps the span records that the Tracia spans API reads (DESIGN.md section 12):
// one Record per run, per OpenAI/Anthropic endpoint call and per span an SDK posted, with its
// evaluations. Backends sit behind the Store interface: memory (the newest max_spans records,
// nothing on disk), sqlite (a durable file, pure Go, retention by age) and postgres (shared by a
// fleet, same schema and queries). Writes leave the request path through a bounded queue that
// drops and counts when full; reads see queued records at once.
//
// Listing is newest first, ordered by (CreatedAt, SpanID) descending; a cursor names the last
// record of a page, so paging neither repeats nor skips records while new ones arrive.
package store
