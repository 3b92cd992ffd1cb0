// Package store keeps the span records that the Tracia spans API reads (DESIGN.md section 12):
// one Record per run, per OpenAI/Anthropic endpoint call and per span an SDK posted, with its
// evaluations. Backends sit behind the Store interface: memory (the newest max_spans records,
// nothing on disk), sqlite (a durable file, pure Go, retention by age) and postgres (shared by a
// fleet, same schema and queries). Writes leave the request path through a bounded queue that
// drops and counts when full; reads see queued records at once.
//
// Listing is newest first, ordered by (CreatedAt, SpanID) descending; a cursor names the last
// record of a page, so paging neither repeats nor skips records while new ones arrive. Every
// backend keeps times in UTC at microseconds (TimePrecision), so cursors round-trip exactly.
//
// Use: Open(ctx, cfg.Store, log) validates the config block and returns a *Queue over the
// configured backend. The request path calls Queue.Enqueue, or fills a NewRecord and hands it
// over with Queue.EnqueueOwned, which spares it every copy and allocation (never blocks;
// false = dropped);
// the spans API calls Put, Get, List and AddEvaluation on the same Queue; metrics read
// Queue.Stats; shutdown calls Queue.Close(ctx), which flushes and closes the backend.
package store
