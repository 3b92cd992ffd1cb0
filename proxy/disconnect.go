package proxy

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tracegate/tracegate/internal/alarm"
	"github.com/valyala/fasthttp"
)

// A stream must stop the moment its client goes away, or tracegate keeps paying for tokens
// nobody reads. fasthttp tells a handler nothing about that while the response is being
// written, and a write only fails when there is something to write, which may be minutes
// away while a model thinks. disconnectWatch instead waits, in the netpoller, for the client's
// socket to become readable and peeks: end of file (or a reset) means the client closed its
// side, and the upstream request is cancelled at once. Peeking consumes nothing, so a
// pipelined next request stays in the socket for fasthttp.
//
// The watch starts only once the stream has run for watchDelay: most of its cost (a
// goroutine, a system call, a wake-up to stop it) is then paid by long streams alone, where a
// disconnect matters, and a client that leaves in the first instant is noticed after it.
type disconnectWatch struct {
	conn   net.Conn
	cancel func()
	start  *alarm.Alarm // made once (see package alarm); left set when a watch ends unstarted
	// mu guards state, begun and startSet: the alarm may fire for a use that has ended, or
	// before the current one is due, and must tell which.
	mu       sync.Mutex
	state    watchState
	begun    time.Time
	startSet bool
	// done and stopped are made again only after a watch that started closed them.
	done    chan struct{}
	stopped chan struct{}
	gone    atomic.Bool
}

// watchDelay is how long a stream runs before its client is watched.
const watchDelay = 50 * time.Millisecond

// watchState is where a watch's use stands.
type watchState uint8

const (
	watchIdle    watchState = iota // not in use, or stopped
	watchWaiting                   // begun; the watch starts at watchDelay
	watchRunning                   // run is watching
)

// watchDisconnect starts watching conn and calls cancel when the client goes away. It returns
// nil (no watching) for connections without a file descriptor, such as in-memory listeners;
// a failed write still ends those streams.
func watchDisconnect(conn net.Conn, cancel func()) *disconnectWatch {
	w := &disconnectWatch{}
	if !w.begin(conn, cancel) {
		return nil
	}
	return w
}

// begin starts a watch of conn with w, which may have watched before; false (and no watch)
// when conn has no file descriptor. A watch that never started allocates nothing again.
func (w *disconnectWatch) begin(conn net.Conn, cancel func()) bool {
	if _, ok := conn.(syscall.Conn); !ok {
		return false
	}
	w.conn, w.cancel = conn, cancel
	w.gone.Store(false)
	if w.done == nil {
		w.done, w.stopped = make(chan struct{}), make(chan struct{})
	}
	if w.start == nil {
		w.start = alarm.New(w.due)
	}
	w.mu.Lock()
	w.state, w.begun = watchWaiting, time.Now()
	if !w.startSet {
		w.startSet = true
		w.start.Set(watchDelay)
	}
	w.mu.Unlock()
	return true
}

// due is the start alarm: it starts the watch when the use it finds is watchDelay old, sets
// itself again when the use is younger (the alarm was left set by an earlier use), and does
// nothing when the watch is not in use.
func (w *disconnectWatch) due() {
	w.mu.Lock()
	w.startSet = false
	if w.state != watchWaiting {
		w.mu.Unlock()
		return
	}
	if rest := watchDelay - time.Since(w.begun); rest > 0 {
		w.startSet = true
		w.start.Set(rest)
		w.mu.Unlock()
		return
	}
	w.state = watchRunning
	w.mu.Unlock()
	go w.run()
}

// run is the watch, from watchDelay after begin until stop or the client's close.
func (w *disconnectWatch) run() {
	defer close(w.stopped)
	conn := w.conn
	// fasthttp left the read deadline of the request (server.read_timeout) on the
	// connection; the watch must outlast it. Closing done before stop moves the deadline
	// makes the check below catch a stop that raced with this line.
	_ = conn.SetReadDeadline(time.Time{})
	select {
	case <-w.done:
		return
	default:
	}
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	var buf [1]byte
	for {
		var n int
		var peekErr error
		err := rc.Read(func(fd uintptr) bool {
			n, _, peekErr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return peekErr != syscall.EAGAIN // false: wait until readable
		})
		select {
		case <-w.done:
			return
		default:
		}
		if err != nil {
			return // the read deadline set by stop, or the connection closed under us
		}
		if peekErr != nil || n == 0 {
			w.gone.Store(true)
			w.cancel()
			return
		}
		// The client sent bytes (a pipelined request): the socket stays readable, so wait
		// on a timer instead; a write error will still end the stream.
		select {
		case <-w.done:
			return
		case <-time.After(probeInterval):
		}
	}
}

// stop ends the watch and waits for its goroutine, leaving the connection as it found it.
func (w *disconnectWatch) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	started := w.state == watchRunning
	w.state = watchIdle
	w.mu.Unlock()
	if !started {
		return // the start alarm, if still set, finds the watch idle
	}
	close(w.done)
	_ = w.conn.SetReadDeadline(time.Now()) // wakes the netpoller wait
	<-w.stopped
	_ = w.conn.SetReadDeadline(time.Time{})
	w.done, w.stopped = nil, nil
}

// clientGone reports whether the watch saw the client close its side.
func (w *disconnectWatch) clientGone() bool { return w != nil && w.gone.Load() }

// clientWatch is the context of a handler that waits on a provider without writing anything
// (a non-streaming call): it ends when the client goes away, so the upstream call is dropped
// and no retry or fallback starts. It is pooled and allocates nothing for a call that ends
// before watchDelay: it implements provider.DoneNotifier, which the provider's exchange uses
// instead of context.AfterFunc. Contexts derived from it are cancelled with it (it
// implements the AfterFunc method the context package looks for), and a watch that lent
// itself out that way is not reused.
type clientWatch struct {
	parent     context.Context
	stopParent func() bool // context.AfterFunc(parent) when the parent can end
	watch      disconnectWatch
	cancelFn   func() // cancel, made once

	mu     sync.Mutex
	done   chan struct{} // made again only once closed
	err    error
	hook   func()
	afters map[*func()]struct{}
	lent   bool // AfterFunc was called, or the parent's watch ran: not pooled
}

var clientWatches = sync.Pool{New: func() any {
	w := &clientWatch{}
	w.cancelFn = w.cancel
	return w
}}

// watchClient returns the context of a call made for the client of ctx, derived from parent.
// Call stop when the wait is over, before writing the reply; the context must not be used
// after that.
func watchClient(ctx *fasthttp.RequestCtx, parent context.Context) *clientWatch {
	w := clientWatches.Get().(*clientWatch)
	w.parent = parent
	if w.done == nil {
		w.done = make(chan struct{})
	}
	if parent.Done() != nil {
		w.stopParent = context.AfterFunc(parent, w.cancelFn)
	}
	w.watch.begin(ctx.Conn(), w.cancelFn)
	return w
}

// stop ends the watch and returns w to the pool unless something may still refer to it.
func (w *clientWatch) stop() {
	w.watch.stop()
	reusable := true
	if w.stopParent != nil && !w.stopParent() {
		reusable = false // the parent's watch ran or is running: it may still cancel w
	}
	w.stopParent = nil
	w.mu.Lock()
	if w.lent {
		reusable = false
	}
	if w.err != nil {
		w.done, w.err = nil, nil
	}
	w.hook = nil
	w.mu.Unlock()
	if reusable {
		w.parent = nil
		clientWatches.Put(w)
	}
}

func (w *clientWatch) cancel() {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.err = context.Canceled
	close(w.done)
	hook, afters := w.hook, w.afters
	w.hook, w.afters = nil, nil
	w.mu.Unlock()
	if hook != nil {
		hook()
	}
	for f := range afters {
		go (*f)()
	}
}

func (w *clientWatch) Deadline() (time.Time, bool) { return w.parent.Deadline() }
func (w *clientWatch) Done() <-chan struct{}       { return w.done }

func (w *clientWatch) Value(key any) any { return w.parent.Value(key) }

func (w *clientWatch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// NotifyDone implements provider.DoneNotifier.
func (w *clientWatch) NotifyDone(hook func()) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		hook()
		return
	}
	w.hook = hook
	w.mu.Unlock()
}

// StopNotify implements provider.DoneNotifier.
func (w *clientWatch) StopNotify() {
	w.mu.Lock()
	w.hook = nil
	w.mu.Unlock()
}

// AfterFunc is what context.AfterFunc and the derived contexts of the context package use on
// a parent that is not theirs: f runs in its own goroutine when w ends.
func (w *clientWatch) AfterFunc(f func()) (stop func() bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lent = true
	if w.err != nil {
		go f()
		return func() bool { return false }
	}
	key := &f
	if w.afters == nil {
		w.afters = make(map[*func()]struct{})
	}
	w.afters[key] = struct{}{}
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		_, ok := w.afters[key]
		delete(w.afters, key)
		return ok
	}
}
