package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// loadPlan is one bounded run: closed loop at concurrency when rate is 0, else open loop at
// rate with at most maxInFlight requests outstanding. It ends at duration or after requests
// sends, whichever comes first, or when ctx is cancelled.
type loadPlan struct {
	requester   *requester
	concurrency int
	rate        float64
	maxInFlight int
	duration    time.Duration
	requests    int
}

// slot is a worker with its own recorder; one goroutine at a time owns it.
type slot struct {
	w   *worker
	rec *recorder
}

func runLoad(ctx context.Context, p loadPlan) summary {
	var (
		slots   []slot
		elapsed time.Duration
		dropped int
	)
	if p.rate > 0 {
		slots, elapsed, dropped = runOpen(ctx, p)
	} else {
		slots, elapsed = runClosed(ctx, p)
	}
	recs := make([]*recorder, len(slots))
	for i, s := range slots {
		recs[i] = s.rec
	}
	s := summarize(mergeRecorders(recs), elapsed, p.requester.stream)
	s.Target = p.requester.target
	s.Stream = p.requester.stream
	s.Dropped = dropped
	if p.rate > 0 {
		s.Loop, s.Rate, s.MaxInFlight = "open", p.rate, p.maxInFlight
	} else {
		s.Loop, s.Concurrency = "closed", p.concurrency
	}
	return s
}

func newSlots(p loadPlan, n int) []slot {
	capacity := min(p.requests/n+1, 1<<14)
	slots := make([]slot, n)
	for i := range slots {
		slots[i] = slot{w: p.requester.newWorker(), rec: newRecorder(capacity)}
	}
	return slots
}

// runClosed keeps concurrency requests outstanding: each worker sends its next request when
// the previous one ends. Workers take numbered tickets so the total never exceeds requests.
func runClosed(ctx context.Context, p loadPlan) ([]slot, time.Duration) {
	slots := newSlots(p, p.concurrency)
	var (
		tickets atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(p.duration)
	for i := range slots {
		s := slots[i]
		wg.Go(func() {
			for tickets.Add(1) <= int64(p.requests) {
				if ctx.Err() != nil || !time.Now().Before(deadline) {
					return
				}
				s.rec.add(s.w.do(), p.requester.stream)
			}
		})
	}
	wg.Wait()
	return slots, time.Since(start)
}

// runOpen sends on a fixed schedule whatever the responses do, so a slow server shows up as
// latency and drops instead of a lower send rate. A send that falls due while maxInFlight
// requests are outstanding is dropped and counted, which keeps memory and sockets bounded.
func runOpen(ctx context.Context, p loadPlan) ([]slot, time.Duration, int) {
	slots := newSlots(p, p.maxInFlight)
	idle := make(chan slot, len(slots))
	for _, s := range slots {
		idle <- s
	}
	var (
		wg      sync.WaitGroup
		issued  int64
		dropped int
	)
	sched := pacer{rate: p.rate}
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for issued < int64(p.requests) {
		elapsed := time.Since(start)
		if elapsed >= p.duration || ctx.Err() != nil {
			break
		}
		for due := min(sched.due(elapsed), int64(p.requests)); issued < due; issued++ {
			select {
			case s := <-idle:
				wg.Go(func() {
					s.rec.add(s.w.do(), p.requester.stream)
					idle <- s
				})
			default:
				dropped++
			}
		}
		if wait := sched.at(issued) - time.Since(start); wait > 0 {
			timer.Reset(min(wait, p.duration))
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
	}
	wg.Wait()
	return slots, time.Since(start), dropped
}
