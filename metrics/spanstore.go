package metrics

import "github.com/prometheus/client_golang/prometheus"

// SpanStoreStats is a snapshot of the span store's write queue counters.
type SpanStoreStats struct {
	Dropped uint64 // records refused because the queue was full (or the store closed)
	Failed  uint64 // records the backend refused after every retry
	Written uint64
	Queued  int
}

// WatchSpanStore adds the span store's queue counters, read at scrape time. Call it once,
// before serving.
func (m *Metrics) WatchSpanStore(read func() SpanStoreStats) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tracegate_span_store_written_total",
			Help: "Span records written to the span store.",
		}, func() float64 { return float64(read().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tracegate_span_store_dropped_total",
			Help: "Span records dropped because the span store's write queue was full; the runs were not slowed.",
		}, func() float64 { return float64(read().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tracegate_span_store_failed_total",
			Help: "Span records the span store's backend refused after every retry.",
		}, func() float64 { return float64(read().Failed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracegate_span_store_queued",
			Help: "Span records waiting in the span store's write queue.",
		}, func() float64 { return float64(read().Queued) }),
	)
}
