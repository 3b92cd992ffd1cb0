package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/bytebufferpool"
)

// The pooled exchange reuses a finished call's connection, never a cut one's: after a call
// dropped mid-wait, the next call gets a fresh connection and a whole reply.
func TestFastExchangeReusesFinishedConnectionsOnly(t *testing.T) {
	var conns atomic.Int32
	arrived := make(chan struct{}, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/hang" {
			arrived <- struct{}{}
			<-r.Context().Done()
			return
		}
		w.Header().Set("X-Request-Id", "req_"+r.URL.Path[1:])
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	b, err := NewBackend(testProvider(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if !b.usesFast() {
		t.Fatal("a plain http openai backend does not use the pooled exchange")
	}
	call := func(ctx context.Context, path string) ([]ReplyHeader, string, error) {
		reply := bytebufferpool.Get()
		defer bytebufferpool.Put(reply)
		h, err := b.roundTripWith(ctx, path, []byte(`{}`), nil, reply)
		return h, string(reply.B), err
	}
	for i := 0; i < 3; i++ {
		h, body, err := call(context.Background(), "/a")
		if err != nil || body != `{"ok":true}` {
			t.Fatalf("call %d: %q, %v", i, body, err)
		}
		if len(h) != 1 || h[0] != (ReplyHeader{Name: "x-request-id", Value: "req_a"}) {
			t.Fatalf("kept reply headers %v", h)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 calls in a row opened %d connections, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	if _, _, err := call(ctx, "/hang"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cut call: %v, want context.Canceled", err)
	}
	if _, body, err := call(context.Background(), "/b"); err != nil || body != `{"ok":true}` {
		t.Fatalf("call after a cut one: %q, %v", body, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after a cut call and one more, want 2 (the cut one closed, a new one dialled)", n)
	}
}

// A pooled connection the server closed while it was idle is not used for the next call,
// which would otherwise fail (a POST is not retried on another connection).
func TestFastExchangeSkipsConnectionsClosedWhileIdle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	b, err := NewBackend(testProvider(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		reply := bytebufferpool.Get()
		err := b.roundTrip(context.Background(), "/a", []byte(`{}`), reply)
		bytebufferpool.Put(reply)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		srv.CloseClientConnections() // the server drops the idle keep-alive connection
		// A connection is peeked at only once it has been idle for peekAfterIdle: a
		// keep-alive timeout is seconds.
		time.Sleep(2 * time.Duration(peekAfterIdle))
	}
}
