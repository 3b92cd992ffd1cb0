package main

import (
	"strings"
	"testing"
)

// A phase's row is its round of median throughput; a failed round counts as the slowest,
// and every round's throughput is kept in order.
func TestMedianRound(t *testing.T) {
	round := func(n int, rps float64, failed bool) phaseResult {
		r := phaseResult{Phase: "passthrough", Round: n, Summary: &summary{RPS: rps, LatencyUS: percentiles{P50: 1e6 / rps}}}
		if failed {
			r.Error = "every request failed"
		}
		return r
	}
	m := medianRound([]phaseResult{round(1, 300, false), round(2, 100, false), round(3, 200, false)})
	if m.Round != 3 || m.Summary.RPS != 200 {
		t.Fatalf("median round %d (%v req/s), want round 3 (200)", m.Round, m.Summary.RPS)
	}
	if got := m.RoundsRPS; len(got) != 3 || got[0] != 300 || got[1] != 100 || got[2] != 200 {
		t.Fatalf("rounds %v", got)
	}
	if got := m.RoundsP50US; len(got) != 3 || got[0] != 1e6/300 || got[2] != 1e6/200 || m.RoundsTTFBP50US[0] != -1 {
		t.Fatalf("rounds' medians %v, first bytes %v (not a stream: -1)", got, m.RoundsTTFBP50US)
	}
	m = medianRound([]phaseResult{round(1, 300, false), round(2, 0, true), round(3, 100, false)})
	if m.RoundsP50US[1] != -1 {
		t.Fatalf("a failed round's median %v, want -1", m.RoundsP50US[1])
	}
	if m.Round != 3 {
		t.Fatalf("with a failed round the median is round %d, want 3", m.Round)
	}
	if one := medianRound([]phaseResult{round(1, 50, false)}); one.Round != 1 || one.RoundsRPS != nil {
		t.Fatalf("one round: %+v", one)
	}
	if cell := roundsCell(3, m.RoundsRPS); !strings.Contains(cell, "300, failed, 100") {
		t.Fatalf("rounds cell %q", cell)
	}
}

// A target judged on the median rounds shows every interleaved round's own value, paired
// with the null gateway's round of the same number, and is "mixed" when a round disagrees.
func TestCheckTargetsByRound(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	phases := func(passRPS, nullRPS, passP50, nullP50 []float64) []phaseResult {
		return []phaseResult{
			{Phase: "passthrough", Concurrency: 1, Summary: &summary{LatencyUS: percentiles{P99: 100}}, AddedP50VsNullUS: f(passP50[1] - nullP50[1]), RoundsP50US: passP50},
			{Phase: "null", Concurrency: 1, Summary: &summary{LatencyUS: percentiles{P99: 100}}, RoundsP50US: nullP50},
			{Phase: "passthrough", Concurrency: 16, Summary: &summary{}, ThroughputRatioVsNull: f(passRPS[1] / nullRPS[1]), RoundsRPS: passRPS},
			{Phase: "null", Concurrency: 16, Summary: &summary{}, RoundsRPS: nullRPS},
		}
	}
	verdicts := func(rep *compareReport) map[string]string {
		got := map[string]string{}
		for _, c := range checkTargets(rep, 0) {
			got[c.Target] = c.Verdict + " " + c.Measured
		}
		return got
	}
	const latency, throughput = "passthrough, c=1: added median latency over the null gateway <= 10 µs", "passthrough, c=16: throughput >= 80% of the null gateway's"

	got := verdicts(&compareReport{Phases: phases([]float64{90, 85, -1}, []float64{100, 100, 100}, []float64{60, 65, 70}, []float64{55, 60, 40})})
	if got[latency] != "mixed +5.0 µs (rounds: +5.0 µs, +5.0 µs, +30.0 µs)" {
		t.Errorf("latency: %q", got[latency])
	}
	// The failed third round pairs with nothing; the two left agree.
	if got[throughput] != "pass 85% (rounds: 90%, 85%)" {
		t.Errorf("throughput: %q", got[throughput])
	}
	got = verdicts(&compareReport{Phases: phases([]float64{60, 70, 65}, []float64{100, 100, 100}, []float64{80, 90, 99}, []float64{55, 60, 60})})
	if got[latency] != "fail +30.0 µs (rounds: +25.0 µs, +30.0 µs, +39.0 µs)" || got[throughput] != "fail 70% (rounds: 60%, 70%, 65%)" {
		t.Errorf("agreeing rounds: %q, %q", got[latency], got[throughput])
	}
}
