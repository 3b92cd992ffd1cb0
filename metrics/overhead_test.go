package metrics

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

func TestOverheadHistogramByRoute(t *testing.T) {
	m := New(Sources{})
	m.RequestDone(RequestSummary{Route: RouteChat, Status: 200, Duration: time.Millisecond, Overhead: 40 * time.Microsecond})
	m.RequestDone(RequestSummary{Route: RouteChat, Status: 200, Duration: time.Millisecond, Overhead: 3 * time.Millisecond})
	m.RequestDone(RequestSummary{Route: RouteRun, Status: 200, Duration: time.Millisecond}) // not measured
	f := gathered(t, m)
	h := histogram(t, f, "tracegate_overhead_seconds", map[string]string{"route": RouteChat})
	if h.GetSampleCount() != 2 {
		t.Fatalf("%d samples, want 2", h.GetSampleCount())
	}
	if got, want := h.GetSampleSum(), 0.00304; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("sum %v, want %v", got, want)
	}
	// 40µs lands in the 50µs bucket, not in 25µs.
	for _, b := range h.GetBucket() {
		switch b.GetUpperBound() {
		case 0.000025:
			if b.GetCumulativeCount() != 0 {
				t.Errorf("le=25µs holds %d", b.GetCumulativeCount())
			}
		case 0.00005:
			if b.GetCumulativeCount() != 1 {
				t.Errorf("le=50µs holds %d", b.GetCumulativeCount())
			}
		}
	}
	if run := series(f, "tracegate_overhead_seconds", map[string]string{"route": RouteRun}); run != nil && run.GetHistogram().GetSampleCount() != 0 {
		t.Errorf("an unmeasured overhead was observed: %v", run)
	}
}

func TestOverheadClockSubtractsProviderTime(t *testing.T) {
	var zero OverheadClock
	if zero.Overhead() != 0 {
		t.Errorf("zero clock: %v", zero.Overhead())
	}
	c := OverheadClock{start: time.Now().Add(-10 * time.Millisecond)}
	c.Provider(7 * time.Millisecond)
	c.Provider(-time.Second) // ignored
	if got := c.Overhead(); got < 3*time.Millisecond || got > 9*time.Millisecond {
		t.Errorf("overhead %v, want about 3ms", got)
	}
	c.Provider(time.Hour)
	if got := c.Overhead(); got != 0 {
		t.Errorf("overhead %v, want 0 when provider time exceeds the total", got)
	}
}

func TestAppendOverheadMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                   "0.000",
		42 * time.Microsecond:               "0.042",
		1500 * time.Microsecond:             "1.500",
		12*time.Second + 3*time.Microsecond: "12000.003",
		-time.Second:                        "0.000",
		999:                                 "0.000", // below a microsecond
	} {
		if got := string(AppendOverheadMillis(nil, d)); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() { buf = AppendOverheadMillis(buf[:0], 42*time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestSetOverheadHeader(t *testing.T) {
	var resp fasthttp.Response
	SetOverheadHeader(&resp.Header, 1234*time.Microsecond)
	if got := string(resp.Header.Peek("X-Tracegate-Overhead-Ms")); got != "1.234" {
		t.Errorf("header %q", got)
	}
	SetOverheadHeader(&resp.Header, 5*time.Microsecond) // replaces, not adds
	if got := resp.Header.String(); strings.Count(got, "X-Tracegate-Overhead-Ms") != 1 || !strings.Contains(got, "X-Tracegate-Overhead-Ms: 0.005") {
		t.Errorf("headers:\n%s", got)
	}
	if n := testing.AllocsPerRun(100, func() { SetOverheadHeader(&resp.Header, 42*time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// BenchmarkRequestLabels is the per-request metrics cost: "vec" resolves every child with
// WithLabelValues as a request ends (what label lookups on every request cost: hashing the
// label values, the vector's lock, the status formatted to text), "cached" is RequestDone and
// AttemptDone on the pre-resolved children tracegate uses.
func BenchmarkRequestLabels(b *testing.B) {
	req := RequestSummary{Route: RouteChat, Status: 200, Duration: time.Millisecond, Overhead: 30 * time.Microsecond,
		Provider: "openai", Model: "gpt-4o-mini", Cost: 0.001, Priced: true}
	att := AttemptSummary{Provider: "openai", Model: "gpt-4o-mini", Status: 200, Duration: time.Millisecond}
	b.Run("cached", func(b *testing.B) {
		m := New(Sources{})
		b.ReportAllocs()
		for b.Loop() {
			m.RequestDone(req)
			m.AttemptDone(att)
		}
	})
	b.Run("vec", func(b *testing.B) {
		count := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c"}, []string{"route", "status", "code"})
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Buckets: requestDurationBuckets}, []string{"route", "stream"})
		over := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "o", Buckets: overheadBuckets}, []string{"route"})
		cost := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cost"}, []string{"provider", "model"})
		att := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "a"}, []string{"provider", "model", "status", "error_type"})
		attDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ad", Buckets: genAIDurationBuckets}, []string{"provider", "model", "error_type"})
		b.ReportAllocs()
		for b.Loop() {
			count.WithLabelValues(req.Route, strconv.Itoa(req.Status), req.Code).Inc()
			dur.WithLabelValues(req.Route, strconv.FormatBool(req.Stream)).Observe(req.Duration.Seconds())
			over.WithLabelValues(req.Route).Observe(req.Overhead.Seconds())
			cost.WithLabelValues(req.Provider, req.Model).Add(req.Cost)
			att.WithLabelValues(req.Provider, req.Model, "200", "").Inc()
			attDur.WithLabelValues(req.Provider, req.Model, "").Observe(req.Duration.Seconds())
		}
	})
}
