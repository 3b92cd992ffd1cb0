package main

import (
	"testing"
	"time"
)

func TestPercentilesUseNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // reversed: computePercentiles must sort
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	got := computePercentiles(d)
	want := percentiles{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestPercentilesOfFewSamples(t *testing.T) {
	cases := []struct {
		samples []time.Duration
		want    percentiles
	}{
		{nil, percentiles{}},
		{[]time.Duration{7 * time.Microsecond}, percentiles{P50: 7, P90: 7, P99: 7, Max: 7, Mean: 7}},
		// Ranks: p50 -> ceil(1.5)=2, p90 -> ceil(2.7)=3, p99 -> 3.
		{[]time.Duration{3 * time.Microsecond, 1 * time.Microsecond, 2 * time.Microsecond}, percentiles{P50: 2, P90: 3, P99: 3, Max: 3, Mean: 2}},
		{[]time.Duration{1500 * time.Nanosecond, 2500 * time.Nanosecond}, percentiles{P50: 1.5, P90: 2.5, P99: 2.5, Max: 2.5, Mean: 2}},
	}
	for _, c := range cases {
		if got := computePercentiles(c.samples); got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.samples, got, c.want)
		}
	}
}

func TestNearestRankAtExactBoundaries(t *testing.T) {
	d := make([]time.Duration, 1000)
	for i := range d {
		d[i] = time.Duration(i + 1)
	}
	for permille, want := range map[int]time.Duration{500: 500, 900: 900, 990: 990, 1000: 1000, 1: 1} {
		if got := nearestRank(d, permille); got != want {
			t.Errorf("permille %d: got %d, want %d", permille, got, want)
		}
	}
}

func TestSummarizeMergesWorkersAndLeavesFailuresOutOfLatency(t *testing.T) {
	a, b := newRecorder(4), newRecorder(4)
	a.add(outcome{latency: time.Millisecond, ttfb: 100 * time.Microsecond, chunks: 9}, true)
	b.add(outcome{latency: 3 * time.Millisecond, ttfb: 300 * time.Microsecond, chunks: 9}, true)
	a.add(outcome{latency: time.Microsecond, errKind: "HTTP 404", errDetail: "first"}, true)
	b.add(outcome{latency: time.Microsecond, errKind: "HTTP 404", errDetail: "second"}, true)
	b.add(outcome{latency: time.Microsecond, errKind: "transport: timeout"}, true)

	s := summarize(mergeRecorders([]*recorder{a, b}), 2*time.Second, true)
	if s.Requests != 5 || s.OK != 2 || s.Failed != 3 {
		t.Fatalf("counts: %+v", s)
	}
	if s.RPS != 1 {
		t.Errorf("rps = %v, want 1 (2 ok in 2 s)", s.RPS)
	}
	if s.LatencyUS.P50 != 1000 || s.LatencyUS.Max != 3000 {
		t.Errorf("latency %+v: failed requests must not count", s.LatencyUS)
	}
	if s.TTFBUS == nil || s.TTFBUS.P50 != 100 || s.ChunksMean != 9 {
		t.Errorf("ttfb %+v, chunks %v", s.TTFBUS, s.ChunksMean)
	}
	want := []errorCount{{Kind: "HTTP 404", Count: 2, Example: "first"}, {Kind: "transport: timeout", Count: 1}}
	if len(s.Errors) != 2 || s.Errors[0] != want[0] || s.Errors[1] != want[1] {
		t.Errorf("errors %+v, want %+v (commonest first, first example kept)", s.Errors, want)
	}
}
