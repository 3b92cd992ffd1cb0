package proxy

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tracegate/tracegate/provider"
	"github.com/valyala/fasthttp"
)

// tcpRequestCtx is a fasthttp request context on the server side of a real loopback TCP
// connection, and the client side to close.
func tcpRequestCtx(t *testing.T) (*fasthttp.RequestCtx, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	var ctx fasthttp.RequestCtx
	ctx.Init2(server, nil, false)
	return &ctx, client
}

var _ provider.DoneNotifier = (*clientWatch)(nil)

// A client that leaves during a non-streaming call ends the call's context, runs the
// provider's hook and ends contexts derived from it; the next call's watch from the pool is
// live again.
func TestClientWatchEndsWhenTheClientLeaves(t *testing.T) {
	ctx, client := tcpRequestCtx(t)
	w := watchClient(ctx, context.Background())
	hooked := make(chan struct{})
	w.NotifyDone(func() { close(hooked) })
	derived, cancelDerived := context.WithCancel(w)
	defer cancelDerived()
	time.Sleep(2 * watchDelay) // the watch is running
	if w.Err() != nil {
		t.Fatal("ended while the client is connected")
	}
	client.Close()
	for _, ch := range []<-chan struct{}{w.Done(), hooked, derived.Done()} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("the client's close did not end the call")
		}
	}
	if !errors.Is(w.Err(), context.Canceled) || !errors.Is(derived.Err(), context.Canceled) {
		t.Fatalf("Err = %v, derived %v; want context.Canceled", w.Err(), derived.Err())
	}
	w.stop()

	// A watch from the pool (this one was lent out to a derived context, so it is not
	// reused, but any other) starts live.
	ctx2, _ := tcpRequestCtx(t)
	w2 := watchClient(ctx2, context.Background())
	defer w2.stop()
	if w2.Err() != nil {
		t.Fatalf("a new watch starts ended: %v", w2.Err())
	}
	select {
	case <-w2.Done():
		t.Fatal("a new watch's Done is closed")
	default:
	}
}

// A cancelled watch that nothing else refers to is reused with a fresh Done channel.
func TestClientWatchReusedAfterCancel(t *testing.T) {
	ctx, _ := tcpRequestCtx(t)
	for range 3 {
		w := watchClient(ctx, context.Background())
		if w.Err() != nil {
			t.Fatalf("watch starts ended: %v", w.Err())
		}
		w.cancel()
		<-w.Done()
		w.stop()
	}
}

// A parent that ends ends the watch.
func TestClientWatchFollowsItsParent(t *testing.T) {
	ctx, _ := tcpRequestCtx(t)
	parent, cancel := context.WithCancel(context.Background())
	w := watchClient(ctx, parent)
	defer w.stop()
	cancel()
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the parent's end did not end the watch")
	}
}

// A call that ends before the watch starts costs no allocation: the watch, its timer and
// its context are pooled.
func TestClientWatchAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	ctx, _ := tcpRequestCtx(t)
	hook := func() {}
	if n := testing.AllocsPerRun(200, func() {
		w := watchClient(ctx, context.Background())
		w.NotifyDone(hook)
		w.StopNotify()
		w.stop()
	}); n != 0 {
		t.Fatalf("a watch allocates %v times", n)
	}
}

// Over a parent that can end but has not, a watch that ended still reports its own end:
// context.Cause finds the parent's (nil) cause through Value and must fall back to Err.
func TestClientWatchCauseOverALiveParent(t *testing.T) {
	ctx, _ := tcpRequestCtx(t)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := watchClient(ctx, parent)
	defer w.stop()
	derived, cancelDerived := context.WithCancelCause(w)
	defer cancelDerived(nil)
	w.cancel()
	if err := context.Cause(w); !errors.Is(err, context.Canceled) {
		t.Fatalf("Cause(watch) = %v, want context.Canceled", err)
	}
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context derived from the watch did not end with it")
	}
	if err := context.Cause(derived); !errors.Is(err, context.Canceled) {
		t.Fatalf("Cause(derived) = %v, want context.Canceled", err)
	}
}
