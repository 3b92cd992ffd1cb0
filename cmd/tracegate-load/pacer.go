package main

import "time"

// pacer is the open loop's schedule: send i is due at i/rate after the start, whatever
// happened to earlier sends. Working from the schedule rather than from sleeps keeps the
// average rate exact when the scheduler oversleeps: the sends that fell due meanwhile go out
// at once.
type pacer struct {
	rate float64 // sends per second, > 0
}

// at is when send i (counting from 0) is due, as an offset from the start.
func (p pacer) at(i int64) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / p.rate)
}

// due is how many sends are due by elapsed: the send at offset 0 is due at once.
func (p pacer) due(elapsed time.Duration) int64 {
	if elapsed < 0 {
		return 0
	}
	n := int64(elapsed.Seconds()*p.rate) + 1
	// Float rounding can put the estimate one off at exact boundaries; at is the reference.
	for range 2 {
		if n > 0 && p.at(n-1) > elapsed {
			n--
		} else if p.at(n) <= elapsed {
			n++
		}
	}
	return n
}
