package main

import (
	"strings"
	"testing"
)

// A phase's row is its round of median throughput; a failed round counts as the slowest,
// and every round's throughput is kept in order.
func TestMedianRound(t *testing.T) {
	round := func(n int, rps float64, failed bool) phaseResult {
		r := phaseResult{Phase: "passthrough", Round: n, Summary: &summary{RPS: rps}}
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
	m = medianRound([]phaseResult{round(1, 300, false), round(2, 0, true), round(3, 100, false)})
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
