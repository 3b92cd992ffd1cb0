package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Buckets of the GenAI client metrics, from the OpenTelemetry semantic conventions.
var (
	genAIDurationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	genAITokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	// requestDurationBuckets add sub-10ms buckets to the GenAI ones: prompt reads, ops
	// endpoints and rejected requests finish in microseconds.
	requestDurationBuckets = append([]float64{0.0005, 0.001, 0.0025, 0.005}, genAIDurationBuckets...)
	// overheadBuckets span what tracegate itself adds to a request: tens of microseconds when
	// all is well, milliseconds under CPU starvation or a slow span store.
	overheadBuckets = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1}
)

// maxModelSeries bounds the distinct (provider, model, ...) label sets per metric family.
const maxModelSeries = 1000

// otherModel replaces model names past maxModelSeries.
const otherModel = "other"

// Token types, the values of the gen_ai_token_type label.
const (
	tokenInput      = "input"
	tokenOutput     = "output"
	tokenCacheRead  = "cache_read"
	tokenCacheWrite = "cache_write"
	tokenReasoning  = "reasoning"
)

// SpanStats is the span exporter's counters; *spans.Recorder implements it.
type SpanStats interface {
	Exported() int64
	Dropped() int64
	ExportErrors() int64
}

// CacheStats is a snapshot of the registry cache's counters since start.
type CacheStats struct {
	Hits   int64
	Misses int64
}

// Sources are the counters read at scrape time rather than pushed per request. Nil fields
// leave their metrics out.
type Sources struct {
	// RequestsInFlight is the number of requests being handled (proxy.Server.InFlight).
	RequestsInFlight func() int64
	Spans            SpanStats
	// RegistryCache reads the registry cache's hit and miss counters.
	RegistryCache func() CacheStats
}

// Metrics is the Prometheus side of tracegate. It is safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry

	requests        *seriesCache[requestKey, requestSeries]
	attempts        *seriesCache[attemptKey, attemptSeries]
	models          *seriesCache[modelKey, *modelSeries]
	staleTemplates  prometheus.Counter
	streamsInFlight prometheus.Gauge
	reloads         *prometheus.CounterVec
}

// New builds the metrics on a private registry, with the Go runtime and process collectors.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	requestsTotal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracegate_requests_total",
		Help: "Inbound requests by route, HTTP status and error code (empty on success).",
	}, []string{"route", "status", "code"})
	requestDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tracegate_request_duration_seconds",
		Help:    "Time to answer an inbound request, streams until their last byte.",
		Buckets: requestDurationBuckets,
	}, []string{"route", "stream"})
	overhead := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tracegate_overhead_seconds",
		Help:    "Time an inbound request spent in tracegate itself, provider calls excluded (the X-Tracegate-Overhead-Ms header).",
		Buckets: overheadBuckets,
	}, []string{"route"})
	attemptsTotal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracegate_provider_attempts_total",
		Help: "Provider calls, one per attempt (retries and fallbacks count), by upstream status (0: no reply) and error type.",
	}, []string{"provider", "model", "status", "error_type"})
	attemptDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_operation_duration_seconds",
		Help:    "Duration of one provider call (OpenTelemetry gen_ai.client.operation.duration).",
		Buckets: genAIDurationBuckets,
	}, []string{"provider", "model", "error_type"})
	tokenUsage := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_token_usage",
		Help:    "Tokens per served request (OpenTelemetry gen_ai.client.token.usage), input or output.",
		Buckets: genAITokenBuckets,
	}, []string{"provider", "model", "gen_ai_token_type"})
	tokensTotal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracegate_tokens_total",
		Help: "Tokens by type: input and output; cache_read, cache_write (parts of input) and reasoning (part of output).",
	}, []string{"provider", "model", "gen_ai_token_type"})
	costTotal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracegate_cost_usd_total",
		Help: "Cost of priced requests in US dollars.",
	}, []string{"provider", "model"})
	unpricedTotal := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracegate_unpriced_runs_total",
		Help: "Served requests whose model has no price: their cost is reported as 0.",
	}, []string{"provider", "model"})
	m := &Metrics{
		registry: reg,
		staleTemplates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracegate_registry_stale_serves_total",
			Help: "Runs whose prompt came from the registry cache past its TTL because the upstream failed.",
		}),
		streamsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracegate_streams_in_flight",
			Help: "Streaming responses being relayed.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracegate_config_reloads_total",
			Help: "Configuration reloads (SIGHUP) by result: ok, or rejected (the old configuration keeps serving).",
		}, []string{"result"}),
	}
	reg.MustRegister(requestsTotal, requestDuration, overhead, attemptsTotal, attemptDuration, tokenUsage,
		tokensTotal, costTotal, unpricedTotal, m.staleTemplates, m.streamsInFlight, m.reloads)
	// Both results exist from the start, so an alert on the rejected rate has a series to read.
	m.reloads.WithLabelValues(reloadOK)
	m.reloads.WithLabelValues(reloadRejected)

	m.requests = newSeriesCache(maxModelSeries,
		func(k requestKey) requestKey {
			return requestKey{route: k.route, status: k.status, code: otherModel, stream: k.stream}
		},
		func(k requestKey) requestSeries {
			return requestSeries{
				count:    requestsTotal.WithLabelValues(k.route, strconv.Itoa(k.status), k.code),
				duration: requestDuration.WithLabelValues(k.route, strconv.FormatBool(k.stream)),
				overhead: overhead.WithLabelValues(k.route),
			}
		})
	m.attempts = newSeriesCache(maxModelSeries,
		func(k attemptKey) attemptKey { k.model = otherModel; return k },
		func(k attemptKey) attemptSeries {
			return attemptSeries{
				count:    attemptsTotal.WithLabelValues(k.provider, k.model, strconv.Itoa(k.status), k.errType),
				duration: attemptDuration.WithLabelValues(k.provider, k.model, k.errType),
			}
		})
	m.models = newSeriesCache(maxModelSeries,
		func(k modelKey) modelKey { k.model = otherModel; return k },
		func(k modelKey) *modelSeries {
			return &modelSeries{
				inputUsage:  tokenUsage.WithLabelValues(k.provider, k.model, tokenInput),
				outputUsage: tokenUsage.WithLabelValues(k.provider, k.model, tokenOutput),
				input:       tokensTotal.WithLabelValues(k.provider, k.model, tokenInput),
				output:      tokensTotal.WithLabelValues(k.provider, k.model, tokenOutput),
				cacheRead:   tokensTotal.WithLabelValues(k.provider, k.model, tokenCacheRead),
				cacheWrite:  tokensTotal.WithLabelValues(k.provider, k.model, tokenCacheWrite),
				reasoning:   tokensTotal.WithLabelValues(k.provider, k.model, tokenReasoning),
				cost:        costTotal.WithLabelValues(k.provider, k.model),
				unpriced:    unpricedTotal.WithLabelValues(k.provider, k.model),
			}
		})
	m.registerSources(src)
	return m
}

// registerSources adds the metrics read at scrape time.
func (m *Metrics) registerSources(src Sources) {
	if src.RequestsInFlight != nil {
		read := src.RequestsInFlight
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracegate_requests_in_flight",
			Help: "Inbound requests being handled, streams included.",
		}, func() float64 { return float64(read()) }))
	}
	if s := src.Spans; s != nil {
		m.registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "tracegate_spans_exported_total",
				Help: "Spans the exporter accepted.",
			}, func() float64 { return float64(s.Exported()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "tracegate_spans_dropped_total",
				Help: "Spans dropped because the export queue was full.",
			}, func() float64 { return float64(s.Dropped()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "tracegate_span_export_errors_total",
				Help: "Failed span export calls; each loses its batch.",
			}, func() float64 { return float64(s.ExportErrors()) }),
		)
	}
	if read := src.RegistryCache; read != nil {
		m.registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "tracegate_registry_cache_hits_total",
				Help: "Prompt lookups answered from the registry cache.",
			}, func() float64 { return float64(read().Hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "tracegate_registry_cache_misses_total",
				Help: "Prompt lookups that went to the upstream registry.",
			}, func() float64 { return float64(read().Misses) }),
		)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// A collector that fails still leaves every other metric readable.
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// Gatherer exposes the registry, for tests and for embedding in another exposition.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Results of a configuration reload, the values of tracegate_config_reloads_total's label.
const (
	reloadOK       = "ok"
	reloadRejected = "rejected"
)

// ConfigReloaded counts a configuration reload.
func (m *Metrics) ConfigReloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues(reloadOK).Inc()
		return
	}
	m.reloads.WithLabelValues(reloadRejected).Inc()
}
