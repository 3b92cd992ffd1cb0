package proxy

import (
	"net"
	"testing"
	"time"
)

// The watch outlives the read deadline fasthttp leaves on the connection from reading the
// request, and reports the client closing its side.
func TestDisconnectWatchOutlivesTheRequestReadDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // as fasthttp's read_timeout would

	cancelled := make(chan struct{})
	w := watchDisconnect(server, func() { close(cancelled) })
	if w == nil {
		t.Fatal("a TCP connection can be watched")
	}
	time.Sleep(300 * time.Millisecond) // past the old deadline, with the watch running
	select {
	case <-cancelled:
		t.Fatal("cancelled while the client is still connected")
	default:
	}
	client.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the client's close was not noticed")
	}
	if !w.clientGone() {
		t.Error("clientGone is false after the client closed")
	}
	w.stop()
}

// Stopping a watch leaves the connection usable and without a deadline.
func TestDisconnectWatchStopLeavesConnectionUsable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	for _, wait := range []time.Duration{0, 10 * time.Millisecond, 2 * watchDelay} {
		w := watchDisconnect(server, func() { t.Error("cancelled without a disconnect") })
		time.Sleep(wait)
		w.stop()
		if w.clientGone() {
			t.Fatal("clientGone without a disconnect")
		}
	}
	// A pipelined request after the stream is still there to read, untouched by the peeks.
	client.Write([]byte("next"))
	buf := make([]byte, 4)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := server.Read(buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("read after the watch: %q %v", buf[:n], err)
	}
}
