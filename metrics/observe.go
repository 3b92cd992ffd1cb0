package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

type requestKey struct {
	route  string
	status int
	code   string
	stream bool
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
	overhead prometheus.Observer
}

type attemptKey struct {
	provider, model string
	status          int
	errType         string
}

type attemptSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type modelKey struct{ provider, model string }

type modelSeries struct {
	inputUsage, outputUsage                         prometheus.Observer
	input, output, cacheRead, cacheWrite, reasoning prometheus.Counter
	cost, unpriced                                  prometheus.Counter
}

// RequestDone counts a finished inbound request and, when a provider answered, its tokens
// and cost.
func (m *Metrics) RequestDone(r RequestSummary) {
	rs := m.requests.get(requestKey{route: r.Route, status: r.Status, code: r.Code, stream: r.Stream})
	rs.count.Inc()
	rs.duration.Observe(r.Duration.Seconds())
	if r.Overhead > 0 {
		rs.overhead.Observe(r.Overhead.Seconds())
	}
	if r.StaleTemplate {
		m.staleTemplates.Inc()
	}
	if r.Provider == "" {
		return
	}
	ms := m.models.get(modelKey{provider: r.Provider, model: r.Model})
	if r.Priced {
		ms.cost.Add(r.Cost)
	} else {
		ms.unpriced.Inc()
	}
	// Unknown usage (a stream cut before its usage chunk) is not zero usage: leave it out
	// rather than skew the token histograms.
	if !r.Usage.Known {
		return
	}
	u := r.Usage
	ms.inputUsage.Observe(float64(u.InputTokens))
	ms.outputUsage.Observe(float64(u.OutputTokens))
	ms.input.Add(float64(u.InputTokens))
	ms.output.Add(float64(u.OutputTokens))
	if u.CacheReadTokens > 0 {
		ms.cacheRead.Add(float64(u.CacheReadTokens))
	}
	if w := u.CacheWriteTokens + u.CacheWrite1hTokens; w > 0 {
		ms.cacheWrite.Add(float64(w))
	}
	if u.ReasoningTokens > 0 {
		ms.reasoning.Add(float64(u.ReasoningTokens))
	}
}

// AttemptDone counts one provider attempt and its latency.
func (m *Metrics) AttemptDone(a AttemptSummary) {
	as := m.attempts.get(attemptKey{provider: a.Provider, model: a.Model, status: a.Status, errType: a.ErrType})
	as.count.Inc()
	as.duration.Observe(a.Duration.Seconds())
}

// StreamStarted counts a streaming response that began relaying.
func (m *Metrics) StreamStarted() { m.streamsInFlight.Inc() }

// StreamEnded counts a streaming response that finished, however it ended.
func (m *Metrics) StreamEnded() { m.streamsInFlight.Dec() }
