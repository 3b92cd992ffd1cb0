// Package metrics exports tracegate's Prometheus metrics: it implements the proxy's Observer
// and StreamObserver interfaces to count requests, provider attempts, tokens and cost, reads the span
// exporter's and the registry cache's counters at scrape time, and serves the text format on
// a private registry (no global state, so tests and reloads never collide).
//
// Names: the GenAI histograms keep the OpenTelemetry names and buckets as Prometheus spells
// them (gen_ai_client_operation_duration_seconds, gen_ai_client_token_usage); everything else
// is tracegate_*. Labels are bounded: routes and statuses are few, and models beyond
// maxModelSeries distinct values are folded into model="other", so a caller inventing model
// names cannot grow the series without limit.
//
// It owns the RequestSummary and AttemptSummary types the proxy reports with, so the proxy
// depends on metrics and metrics on nothing of tracegate's but llm.
package metrics
