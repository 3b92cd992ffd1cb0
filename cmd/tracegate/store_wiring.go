package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// storeFlushTimeout bounds writing the span store's queue at shutdown: a database that is
// gone must not hold the exit.
const storeFlushTimeout = 5 * time.Second

// storeOpenTimeout bounds connecting to the span store's database at startup.
const storeOpenTimeout = 10 * time.Second

// openSpanStore opens the span store the configuration names (memory by default), behind its
// write queue.
func openSpanStore(cfg *config.Config, log *slog.Logger) (*store.Queue, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	q, err := store.Open(ctx, cfg.Store, log.With("component", "store"))
	if err != nil {
		return nil, fmt.Errorf("open span store: %w", err)
	}
	return q, nil
}

// wireSpanStore makes every finished run and ingested span a store record, and serves the
// spans API from the store.
func wireSpanStore(q *store.Queue, rec *spans.Recorder, srv *proxy.Server, cfg *config.Config) {
	rec.SetSink(proxy.NewStoreSink(q))
	srv.EnableSpansAPI(q, rec, cfg.Spans.CaptureContent)
}

// spanStoreStats reads the queue's counters for the metrics.
func spanStoreStats(q *store.Queue) func() metrics.SpanStoreStats {
	return func() metrics.SpanStoreStats {
		st := q.Stats()
		return metrics.SpanStoreStats{Dropped: st.Dropped, Failed: st.Failed, Written: st.Written, Queued: st.Queued}
	}
}

// closeSpanStore writes what the queue holds and closes the backend.
func closeSpanStore(q *store.Queue, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), storeFlushTimeout)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		log.Warn("span store flush incomplete", "error", err, "dropped", q.Dropped())
	}
}
