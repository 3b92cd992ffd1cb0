package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// Pooled calls never cross: under concurrent calls whose contexts end at random moments
// (context.WithCancel and a DoneNotifier alike), a call that was not cancelled always
// succeeds with its own reply, and a cancelled one either finished with its own reply or
// failed with its own cancellation.
func TestFastCallPoolNoCrossTalk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		ctx.SetContentType("application/json")
		ctx.SetBody(ctx.PostBody()) // the call's own body back
	}}
	go up.Serve(ln)
	defer up.Shutdown()
	b, err := NewBackend(testProvider("http://" + ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	if !b.usesFast() {
		t.Fatal("the backend does not take the pooled fasthttp path")
	}
	const workers, calls = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				body := fmt.Appendf(nil, `{"worker":%d,"call":%d}`, w, i)
				ctx, cancelled := callContext(i)
				reply := bytebufferpool.Get()
				err := b.roundTrip(ctx, "/chat/completions", body, reply)
				switch {
				case err == nil && !bytes.Equal(reply.B, body):
					errs <- fmt.Errorf("call %s got the reply %s", body, reply.B)
				case err != nil && !cancelled():
					errs <- fmt.Errorf("call %s, never cancelled, failed: %w", body, err)
				case err != nil && !errors.Is(err, context.Canceled):
					errs <- fmt.Errorf("call %s, cancelled, failed with %w, want context.Canceled", body, err)
				}
				bytebufferpool.Put(reply)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// callContext is the context of the i-th call: every third a context.WithCancel, every third
// a DoneNotifier, each cancelled after a random moment, and the rest never ending. cancelled
// reports whether the cancellation happened (read once the call is over).
func callContext(i int) (context.Context, func() bool) {
	after := time.Duration(rand.IntN(2000)) * time.Microsecond
	switch i % 3 {
	case 0:
		ctx, cancel := context.WithCancel(context.Background())
		t := time.AfterFunc(after, cancel)
		return ctx, func() bool { t.Stop(); return ctx.Err() != nil }
	case 1:
		n := newEndingNotifier()
		t := time.AfterFunc(after, n.end)
		return n, func() bool { t.Stop(); return n.Err() != nil }
	}
	return context.Background(), func() bool { return false }
}

// endingNotifier is a DoneNotifier context that can end, as the proxy's client watch does.
type endingNotifier struct {
	context.Context
	mu   sync.Mutex
	done chan struct{}
	err  error
	hook func()
}

func newEndingNotifier() *endingNotifier {
	return &endingNotifier{Context: context.Background(), done: make(chan struct{})}
}

func (n *endingNotifier) Done() <-chan struct{} { return n.done }

func (n *endingNotifier) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

func (n *endingNotifier) end() {
	n.mu.Lock()
	if n.err != nil {
		n.mu.Unlock()
		return
	}
	n.err = context.Canceled
	close(n.done)
	hook := n.hook
	n.hook = nil
	n.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (n *endingNotifier) NotifyDone(hook func()) {
	n.mu.Lock()
	if n.err != nil {
		n.mu.Unlock()
		hook()
		return
	}
	n.hook = hook
	n.mu.Unlock()
}

func (n *endingNotifier) StopNotify() {
	n.mu.Lock()
	n.hook = nil
	n.mu.Unlock()
}
