package alarm

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAlarmFiresOnceAfterItsTime(t *testing.T) {
	fired := make(chan time.Time, 2)
	a := New(func() { fired <- time.Now() })
	start := time.Now()
	a.Set(30 * time.Millisecond)
	select {
	case at := <-fired:
		if d := at.Sub(start); d < 30*time.Millisecond {
			t.Fatalf("fired after %v, before its 30ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("never fired")
	}
	if a.Stop() {
		t.Fatal("Stop reports a fired alarm as still set")
	}
	select {
	case <-fired:
		t.Fatal("fired twice")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestStoppedAlarmDoesNotFire(t *testing.T) {
	var n atomic.Int32
	a := New(func() { n.Add(1) })
	a.Set(20 * time.Millisecond)
	if !a.Stop() {
		t.Fatal("Stop of a set alarm reported it unset")
	}
	if a.Stop() {
		t.Fatal("a second Stop reported it set")
	}
	time.Sleep(60 * time.Millisecond)
	if n.Load() != 0 {
		t.Fatal("a stopped alarm fired")
	}
}

// Setting an alarm again moves it, later or earlier, rather than adding a second one.
func TestSetMovesTheAlarm(t *testing.T) {
	var n atomic.Int32
	fired := make(chan struct{}, 4)
	a := New(func() { n.Add(1); fired <- struct{}{} })
	a.Set(time.Hour)
	a.Set(10 * time.Millisecond)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("the moved alarm never fired")
	}
	time.Sleep(30 * time.Millisecond)
	if n.Load() != 1 {
		t.Fatalf("fired %d times", n.Load())
	}
}

// Alarms fire in the order of their times, however they were set and stopped in between.
func TestAlarmsFireInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []int
	done := make(chan struct{})
	const n = 20
	alarms := make([]*Alarm, n)
	for i := range alarms {
		alarms[i] = New(func() {
			mu.Lock()
			order = append(order, i)
			if len(order) == n/2 {
				close(done)
			}
			mu.Unlock()
		})
	}
	for i := n - 1; i >= 0; i-- { // set in reverse, ~Resolution apart
		alarms[i].Set(time.Duration(i+1) * 2 * Resolution)
	}
	for i := 1; i < n; i += 2 {
		alarms[i].Stop()
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("not all fired")
	}
	mu.Lock()
	defer mu.Unlock()
	for k, i := range order {
		if i%2 != 0 || k > 0 && i < order[k-1] {
			t.Fatalf("fired out of order or a stopped one: %v", order)
		}
	}
}

// The clock's goroutine ends once no alarm has been set for a while, and comes back with the
// next alarm.
func TestClockStopsWhenIdleAndRestarts(t *testing.T) {
	fired := make(chan struct{}, 1)
	a := New(func() { fired <- struct{}{} })
	a.Set(0)
	<-fired
	deadline := time.Now().Add(5 * time.Second)
	for {
		std.mu.Lock()
		running := std.running
		std.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the clock kept running with no alarm set")
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.Set(0)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no alarm fired after the clock stopped")
	}
}

func TestConcurrentSetAndStop(t *testing.T) {
	var fired atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := New(func() { fired.Add(1) })
			for i := range 2000 {
				a.Set(time.Duration(g+i%3) * time.Millisecond)
				if i%2 == 0 {
					a.Stop()
				}
			}
			a.Stop()
		}()
	}
	wg.Wait()
	std.mu.Lock()
	defer std.mu.Unlock()
	for i, a := range std.heap {
		if a.index != i {
			t.Fatalf("heap entry %d says it is at %d", i, a.index)
		}
	}
}

func BenchmarkSetStop(b *testing.B) {
	a := New(func() {})
	b.ReportAllocs()
	for b.Loop() {
		a.Set(time.Minute)
		a.Stop()
	}
}
