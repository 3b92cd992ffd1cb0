package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether no process has pid any more (it was reaped).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestMockChildServesCountsAndStopsWhenItsStdinCloses(t *testing.T) {
	o := &compareOptions{mockAddr: "127.0.0.1:0", mock: mockOptions{chunks: 3}, phases: allPhases[:1],
		concurrency: []int{1}, duration: time.Second, timeout: time.Second}
	m, err := startUpstreamMock(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	pid := m.proc.pid()
	if pid == os.Getpid() || !strings.HasPrefix(m.addr, "127.0.0.1:") {
		t.Fatalf("pid %d addr %q: want another process on loopback", pid, m.addr)
	}
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", true), true, 2)
	s := runLoad(context.Background(), loadPlan{requester: r, concurrency: 2, duration: time.Minute, requests: 10})
	if s.OK != 10 || s.ChunksMean != 4 {
		t.Fatalf("ok %d chunks %v %+v", s.OK, s.ChunksMean, s.Errors)
	}
	if n, err := m.requestCount(); err != nil || n != 10 {
		t.Errorf("the child counted %d requests (%v), want 10", n, err)
	}
	r.close()
	if err := m.stop(); err != nil {
		t.Fatalf("stop: %v (it should exit by itself once its stdin closes)", err)
	}
	if m.exitError() == nil || !gone(pid) {
		t.Errorf("child %d still there after stop", pid)
	}
	if err := m.stop(); err != nil {
		t.Errorf("a second stop: %v", err)
	}
}

func TestChildThatIgnoresItsStdinIsKilled(t *testing.T) {
	// Without -exit-on-stdin-eof the mock serves out its -d, so stop has to kill it.
	p, err := startSelf(context.Background(), "mock upstream", []string{"mock", "-listen", "127.0.0.1:0", "-d", "1m"}, childReadyLimit)
	if err != nil {
		t.Fatal(err)
	}
	pid := p.pid()
	start := time.Now()
	err = p.stop()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("stop: %v, want a kill after the grace period", err)
	}
	if time.Since(start) > childStopGrace+5*time.Second || !gone(pid) {
		t.Errorf("child %d not reaped within the bound", pid)
	}
}

func TestChildThatFailsToStartSaysWhy(t *testing.T) {
	_, err := startSelf(context.Background(), "mock upstream", []string{"mock", "-listen", "0.0.0.0:0"}, childReadyLimit)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error %v: want the exit and the child's own message", err)
	}
	// A child that never says where it listens is stopped at the bound.
	_, err = startSelf(context.Background(), "silent", []string{"nullgw", "-h"}, 5*time.Second)
	if err == nil {
		t.Error("a child that printed no address was accepted")
	}
}

func TestChildOutputFindsTheAddressWhateverTheWrites(t *testing.T) {
	text := "noise\nmock upstream" + listeningMarker + "127.0.0.1:4242\nmore\n"
	for cut := range len(text) {
		o := &childOutput{addr: make(chan string, 1)}
		_, _ = o.Write([]byte(text[:cut]))
		_, _ = o.Write([]byte(text[cut:]))
		select {
		case a := <-o.addr:
			if a != "127.0.0.1:4242" {
				t.Fatalf("cut %d: %q", cut, a)
			}
		default:
			t.Fatalf("cut %d: no address", cut)
		}
	}
	for _, line := range []string{"x" + listeningMarker, "x" + listeningMarker + "0.0.0.0:80", "plain line"} {
		if a, ok := listeningAddr(line); ok {
			t.Errorf("%q: accepted %q", line, a)
		}
	}
	o := &childOutput{addr: make(chan string, 1)}
	_, _ = o.Write([]byte(strings.Repeat("y", 3*childOutputBytes)))
	if len(o.buf) > childOutputBytes || len(o.line) > childLineBytes {
		t.Errorf("output kept %d bytes, line %d: both must stay bounded", len(o.buf), len(o.line))
	}
}
