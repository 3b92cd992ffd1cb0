package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func testRequester(t *testing.T, target string, body []byte, stream bool, conns int) *requester {
	t.Helper()
	r, err := newRequester(requestSpec{target: target, body: body, stream: stream, timeout: 10 * time.Second}, conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func TestClosedLoopSendsExactlyTheRequestCount(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1})
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", false), false, 4)
	s := runLoad(context.Background(), loadPlan{requester: r, concurrency: 4, duration: time.Minute, requests: 50})
	if s.Requests != 50 || s.OK != 50 || s.Failed != 0 || m.requests.Load() != 50 {
		t.Fatalf("requests %d ok %d failed %d, mock saw %d; want 50 each", s.Requests, s.OK, s.Failed, m.requests.Load())
	}
	if s.Loop != "closed" || s.Concurrency != 4 || s.TTFBUS != nil || s.LatencyUS.P50 <= 0 {
		t.Errorf("summary %+v", s)
	}
}

func TestClosedLoopStopsAtItsDeadline(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1, delay: 20 * time.Millisecond})
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", false), false, 2)
	s := runLoad(context.Background(), loadPlan{requester: r, concurrency: 2, duration: 50 * time.Millisecond, requests: maxRequestsCap})
	// Returning at all shows the deadline ends a run with no useful count bound.
	if s.Requests >= 100 {
		t.Fatalf("%d requests of 20 ms each in a 50 ms run", s.Requests)
	}
}

func TestStreamingLoadCountsChunksAndTimeToFirstByte(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 6})
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", true), true, 3)
	s := runLoad(context.Background(), loadPlan{requester: r, concurrency: 3, duration: time.Minute, requests: 30})
	if s.OK != 30 || s.Failed != 0 {
		t.Fatalf("ok %d failed %d: %+v", s.OK, s.Failed, s.Errors)
	}
	if s.ChunksMean != 7 { // 6 content chunks + the usage chunk the default body asks for
		t.Errorf("chunks per stream %v, want 7", s.ChunksMean)
	}
	if s.TTFBUS == nil || s.TTFBUS.P50 <= 0 || s.TTFBUS.Max > s.LatencyUS.Max {
		t.Errorf("ttfb %+v latency %+v", s.TTFBUS, s.LatencyUS)
	}
}

func TestOpenLoopSendsOnScheduleAndAccountsForEverySend(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1})
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", false), false, 4)
	s := runLoad(context.Background(), loadPlan{requester: r, rate: 500, maxInFlight: 4, duration: time.Minute, requests: 25})
	if s.Requests+s.Dropped != 25 || s.Failed != 0 {
		t.Fatalf("requests %d + dropped %d != 25 (failed %d)", s.Requests, s.Dropped, s.Failed)
	}
	if s.Loop != "open" || s.Rate != 500 || s.MaxInFlight != 4 {
		t.Errorf("summary %+v", s)
	}
}

func TestOpenLoopDropsSendsWhileEveryRequestIsInFlight(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1, delay: time.Second})
	r := testRequester(t, m.chatURL(), chatBody("gpt-4o-mini", false), false, 1)
	// Five sends due within 4 ms, one slot held a second by the first: the other four drop.
	s := runLoad(context.Background(), loadPlan{requester: r, rate: 1000, maxInFlight: 1, duration: time.Minute, requests: 5})
	if s.Requests != 1 || s.Dropped != 4 {
		t.Fatalf("requests %d dropped %d: want 1 sent and 4 dropped", s.Requests, s.Dropped)
	}
}

func TestErrorsAreBucketedByStatusAndTransport(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 1})
	wrongPath := strings.TrimSuffix(m.chatURL(), "/chat/completions") + "/nothing"
	r := testRequester(t, wrongPath, []byte(`{}`), false, 1)
	o := r.newWorker().do()
	if o.errKind != "HTTP 404" || !strings.Contains(o.errDetail, "mock upstream serves") {
		t.Errorf("404: kind %q detail %q", o.errKind, o.errDetail)
	}
	rs := testRequester(t, wrongPath, []byte(`{}`), true, 1)
	if o := rs.newWorker().do(); o.errKind != "HTTP 404" || !strings.Contains(o.errDetail, "mock upstream serves") {
		t.Errorf("404 while streaming: kind %q detail %q", o.errKind, o.errDetail)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/v1/chat/completions"
	_ = ln.Close()
	r = testRequester(t, closed, []byte(`{}`), false, 1)
	if o := r.newWorker().do(); o.errKind != "transport: connection refused" {
		t.Errorf("closed port: kind %q detail %q", o.errKind, o.errDetail)
	}
}

func TestStreamWithoutDoneIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyString("data: {}\n\ndata: {}\n\n")
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	r := testRequester(t, "http://"+ln.Addr().String()+"/", []byte(`{}`), true, 1)
	if o := r.newWorker().do(); o.errKind != "stream: no [DONE]" || o.chunks != 2 {
		t.Errorf("kind %q chunks %d", o.errKind, o.chunks)
	}
}

func TestTransportKind(t *testing.T) {
	cases := map[error]string{
		fasthttp.ErrTimeout:                             "transport: timeout",
		fmt.Errorf("dial: %w", errConnRefusedForTest()): "transport: connection refused",
		fasthttp.ErrConnectionClosed:                    "transport: connection closed",
		io.ErrUnexpectedEOF:                             "transport: connection closed",
		fasthttp.ErrNoFreeConns:                         "transport: no free connections",
		errors.New("something else"):                    "transport: other",
	}
	for err, want := range cases {
		if got := transportKind(err); got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}

func errConnRefusedForTest() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = net.Dial("tcp", addr)
	return err
}
