package alarm

import (
	"container/heap"
	"sync"
	"time"
)

// Resolution is the clock's granularity: it looks for due alarms at most this often, so an
// alarm fires up to Resolution late, and alarms due close together fire together.
const Resolution = 10 * time.Millisecond

// idleLinger is how long the clock's goroutine waits with no alarm set before it ends, so
// that a busy process does not start one for every request.
const idleLinger = time.Second

// Alarm calls its function once its time has come, on the clock's goroutine. The zero value
// is not usable: make one with New and keep it, since an alarm is meant to be set again and
// again (it never allocates after New). Safe for concurrent use.
type Alarm struct {
	fn    func()
	due   int64 // on the monotonic clock of now; guarded by the clock's mu
	index int   // in the clock's heap; -1 while not set
}

// New returns an alarm, not set, that calls fn.
func New(fn func()) *Alarm { return &Alarm{fn: fn, index: -1} }

// Set (re)sets a to fire d from now, or at the clock's next look if d <= 0.
func (a *Alarm) Set(d time.Duration) { std.set(a, now()+int64(d)) }

// Stop unsets a. It reports whether a was set and had not fired yet: false when it was not
// set, or when it fired (its function may then still be running or about to run).
func (a *Alarm) Stop() bool { return std.stop(a) }

// monoEpoch anchors now to the monotonic clock.
var monoEpoch = time.Now()

func now() int64 { return int64(time.Since(monoEpoch)) }

// clock is the process's alarm clock: a min-heap of set alarms by due time, and a goroutine
// that sleeps until the earliest one (at least Resolution at a time). Setting an alarm
// touches the goroutine only when the alarm is due before the goroutine means to look next,
// which under load is rare: most alarms are set further out than one already set.
type clock struct {
	mu      sync.Mutex
	heap    alarms
	running bool          // the goroutine exists
	lookAt  int64         // when the goroutine means to look next; 0 while it is not sleeping
	kick    chan struct{} // wakes the goroutine for an alarm due before lookAt; buffered
}

var std = clock{kick: make(chan struct{}, 1)}

func (c *clock) set(a *Alarm, due int64) {
	c.mu.Lock()
	a.due = due
	if a.index >= 0 {
		heap.Fix(&c.heap, a.index)
	} else {
		heap.Push(&c.heap, a)
	}
	switch {
	case !c.running:
		c.running = true
		go c.run()
	case c.lookAt != 0 && due < c.lookAt:
		c.lookAt = 0 // one kick is enough until the goroutine plans again
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
}

func (c *clock) stop(a *Alarm) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.index < 0 {
		return false
	}
	heap.Remove(&c.heap, a.index)
	return true
}

func (c *clock) run() {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	var due []*Alarm // what one look fires: this goroutine's own, as the next run may overlap its end
	idleSince := int64(0)
	for {
		t := now()
		c.mu.Lock()
		due = due[:0]
		for len(c.heap) > 0 && c.heap[0].due <= t {
			due = append(due, heap.Pop(&c.heap).(*Alarm))
		}
		var wait int64
		switch {
		case len(c.heap) > 0:
			idleSince = 0
			wait = max(c.heap[0].due-t, int64(Resolution))
		case len(due) > 0 || idleSince == 0:
			idleSince = t
			wait = int64(idleLinger)
		case t-idleSince >= int64(idleLinger):
			c.running, c.lookAt = false, 0
			c.mu.Unlock()
			return
		default:
			wait = idleSince + int64(idleLinger) - t
		}
		c.lookAt = t + wait
		c.mu.Unlock()
		for i, a := range due {
			due[i] = nil
			a.fn()
		}
		sleep.Reset(time.Duration(wait))
		select {
		case <-sleep.C:
		case <-c.kick:
			// An alarm due sooner: look again, but not sooner than Resolution after the last
			// look, so that a burst of kicks costs one wake-up.
			if rest := t + int64(Resolution) - now(); rest > 0 {
				sleep.Reset(time.Duration(rest))
				<-sleep.C
			}
		}
	}
}

// alarms is the clock's min-heap by due time (container/heap). Each alarm knows its index,
// so that Stop and Set find it without a search.
type alarms []*Alarm

func (h alarms) Len() int           { return len(h) }
func (h alarms) Less(i, j int) bool { return h[i].due < h[j].due }
func (h alarms) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *alarms) Push(x any) {
	a := x.(*Alarm)
	a.index = len(*h)
	*h = append(*h, a)
}

func (h *alarms) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	a.index = -1
	return a
}
