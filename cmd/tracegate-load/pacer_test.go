package main

import (
	"testing"
	"time"
)

func TestPacerSchedule(t *testing.T) {
	p := pacer{rate: 1000}
	for i, want := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond} {
		if got := p.at(int64(i)); got != want {
			t.Errorf("at(%d) = %v, want %v", i, got, want)
		}
	}
	cases := map[time.Duration]int64{
		-time.Millisecond:       0,
		0:                       1, // the first send goes at once
		999 * time.Microsecond:  1,
		time.Millisecond:        2,
		10*time.Millisecond - 1: 10,
		time.Second:             1001,
	}
	for elapsed, want := range cases {
		if got := p.due(elapsed); got != want {
			t.Errorf("due(%v) = %d, want %d", elapsed, got, want)
		}
	}
}

// TestPacerDueAgreesWithAt checks the two views of the schedule at every boundary, at rates
// whose intervals are not whole nanoseconds.
func TestPacerDueAgreesWithAt(t *testing.T) {
	for _, rate := range []float64{3, 7.5, 333, 1e4, 123457} {
		p := pacer{rate: rate}
		for i := int64(0); i < 2000; i++ {
			at := p.at(i)
			if got := p.due(at); got != i+1 {
				t.Fatalf("rate %v: due(at(%d)=%v) = %d, want %d", rate, i, at, got, i+1)
			}
			if at > 0 {
				if got := p.due(at - 1); got != i {
					t.Fatalf("rate %v: due(at(%d)-1ns) = %d, want %d", rate, i, got, i)
				}
			}
		}
	}
}
