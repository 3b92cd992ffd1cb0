package proxy

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"time"

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
	conn    net.Conn
	start   *time.Timer
	done    chan struct{}
	stopped chan struct{}
	gone    atomic.Bool
}

// watchDelay is how long a stream runs before its client is watched.
const watchDelay = 50 * time.Millisecond

// watchDisconnect starts watching conn and calls cancel when the client goes away. It returns
// nil (no watching) for connections without a file descriptor, such as in-memory listeners;
// a failed write still ends those streams.
func watchDisconnect(conn net.Conn, cancel func()) *disconnectWatch {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &disconnectWatch{conn: conn, done: make(chan struct{}), stopped: make(chan struct{})}
	w.start = time.AfterFunc(watchDelay, func() {
		defer close(w.stopped)
		// fasthttp left the read deadline of the request (server.read_timeout) on the
		// connection; the watch must outlast it. Closing done before stop moves the deadline
		// makes the check below catch a stop that raced with this line.
		_ = conn.SetReadDeadline(time.Time{})
		select {
		case <-w.done:
			return
		default:
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
				cancel()
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
	})
	return w
}

// stop ends the watch and waits for its goroutine, leaving the connection as it found it.
func (w *disconnectWatch) stop() {
	if w == nil || w.start.Stop() { // never started
		return
	}
	close(w.done)
	_ = w.conn.SetReadDeadline(time.Now()) // wakes the netpoller wait
	<-w.stopped
	_ = w.conn.SetReadDeadline(time.Time{})
}

// clientGone reports whether the watch saw the client close its side.
func (w *disconnectWatch) clientGone() bool { return w != nil && w.gone.Load() }

// watchClient derives from parent a context that ends when the client of ctx goes away, for
// a handler that waits on a provider without writing anything (a non-streaming call): the
// upstream call is dropped and no retry or fallback starts. Call stop when the wait is over,
// before writing the reply.
func watchClient(ctx *fasthttp.RequestCtx, parent context.Context) (context.Context, func()) {
	callCtx, cancel := context.WithCancel(parent)
	w := watchDisconnect(ctx.Conn(), cancel)
	return callCtx, func() {
		w.stop()
		cancel()
	}
}
