package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
)

const testChunk = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n"

// sseUpstream streams two chunks and [DONE] on /s, sends one chunk and then nothing until the
// caller drops the call on /hang, and answers /limited with a 429 and a bounded error.
func sseUpstream(t *testing.T, conns *atomic.Int32, dropped *atomic.Int32) *httptest.Server {
	arrived := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Header.Get("Accept") != "text/event-stream" {
			http.Error(w, "not a stream request", http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/limited" {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Request-Id", "req_stream")
		w.Header().Set("X-Ratelimit-Remaining-Tokens", "99")
		w.Header().Set("Set-Cookie", "never=passed")
		io.WriteString(w, testChunk)
		w.(http.Flusher).Flush()
		if r.URL.Path == "/hang" {
			arrived <- struct{}{}
			<-r.Context().Done()
			dropped.Add(1)
			return
		}
		io.WriteString(w, testChunk+"data: [DONE]\n\n")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func testBackend(t *testing.T, url string) *Backend {
	b, err := NewBackend(testProvider(url))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An unsigned stream takes the pooled exchange: it keeps the allowed reply headers, reuses
// the connection of a stream read to its end and closes a cut one, which the upstream sees.
func TestFastStreamReusesFinishedConnectionsOnly(t *testing.T) {
	var conns, dropped atomic.Int32
	srv := sseUpstream(t, &conns, &dropped)
	b := testBackend(t, srv.URL)
	for i := 0; i < 3; i++ {
		rc, err := b.openBody(context.Background(), "/s", []byte(`{}`))
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if _, ok := rc.(*fastCall); !ok {
			t.Fatalf("stream %d went through %T, want the pooled exchange", i, rc)
		}
		h := streamReplyHeaders(rc)
		want := []ReplyHeader{{Name: "x-request-id", Value: "req_stream"}, {Name: "x-ratelimit-remaining-tokens", Value: "99"}}
		if len(h) != 2 || h[0] != want[0] || h[1] != want[1] {
			t.Fatalf("kept reply headers %v, want %v", h, want)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(data) != testChunk+testChunk+"data: [DONE]\n\n" {
			t.Fatalf("stream %d: %q, %v", i, data, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 streams in a row opened %d connections, want 1", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	rc, err := b.openBody(ctx, "/hang", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(testChunk))
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	go cancel()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("read of a cancelled stream: %v, want context.Canceled", err)
	}
	rc.Close()
	rc, err = b.openBody(context.Background(), "/s", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	srv.Close() // waits for the handlers: the hanging one returns only once its call is dropped
	if n := dropped.Load(); n != 1 {
		t.Fatalf("upstream saw %d dropped streams, want 1", n)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after a cut stream and one more, want 2", n)
	}
}

// An error status on a stream is decoded from its bounded body, with its Retry-After, before
// any byte reaches the caller.
func TestFastStreamDecodesErrorStatus(t *testing.T) {
	var conns, dropped atomic.Int32
	b := testBackend(t, sseUpstream(t, &conns, &dropped).URL)
	_, err := b.openBody(context.Background(), "/limited", []byte(`{}`))
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) || ue.Status != http.StatusTooManyRequests || !strings.Contains(ue.Message, "slow down") {
		t.Fatalf("err = %#v, want the provider's 429", err)
	}
	if ue.RetryAfter != 7*time.Second {
		t.Fatalf("retry after %v, want 7s", ue.RetryAfter)
	}
}

// The backend timeout bounds the wait for a stream's reply headers, stream_idle_timeout the
// silence after them; each ends the call with ErrTimeout, an error naming the setting that ran
// out, and drops the connection. Both exchanges: fasthttp's (unsigned calls) and net/http's
// (signed ones).
func TestFastStreamTimeouts(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(map[bool]string{false: "fasthttp", true: "net-http"}[signed], func(t *testing.T) {
			var dropped atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.URL.Path == "/silent-after-headers" {
					w.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(w, testChunk)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done()
				dropped.Add(1)
			}))
			p := testProvider(srv.URL)
			p.Timeout = config.Duration(200 * time.Millisecond)
			p.StreamIdleTimeout = config.Duration(300 * time.Millisecond)
			b, err := NewBackend(p)
			if err != nil {
				t.Fatal(err)
			}
			if signed {
				c := *b.codec
				c.authorize = func(context.Context, *http.Request, []byte) error { return nil }
				b.codec = &c
			}
			if b.usesFast() == signed {
				t.Fatalf("usesFast = %v for signed = %v", b.usesFast(), signed)
			}
			_, err = b.openBody(context.Background(), "/no-headers", []byte(`{}`))
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no reply within its 200ms timeout") {
				t.Fatalf("stream without reply headers: %v, want ErrTimeout naming the 200ms timeout", err)
			}
			rc, err := b.openBody(context.Background(), "/silent-after-headers", []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if !errors.Is(err, ErrTimeout) || string(data) != testChunk {
				t.Fatalf("silent stream: %q, %v, want its chunk then ErrTimeout", data, err)
			}
			if !strings.Contains(err.Error(), "300ms stream_idle_timeout") || strings.Contains(err.Error(), "200ms") {
				t.Fatalf("silent stream: %v, want an error naming the 300ms stream_idle_timeout", err)
			}
			srv.Close()
			if n := dropped.Load(); n != 2 {
				t.Fatalf("upstream saw %d dropped calls, want 2", n)
			}
		})
	}
}

// BenchmarkUpstreamStream is the per-call cost of a short stream on the pooled exchange,
// opened, read to its end and closed; BenchmarkUpstreamStreamNetHTTP is the same stream
// through net/http's exchange, which streams took before.
func BenchmarkUpstreamStream(b *testing.B) {
	benchmarkStream(b, func(be *Backend, body []byte) (io.ReadCloser, error) {
		return be.openBody(context.Background(), "/s", body)
	})
}

func BenchmarkUpstreamStreamNetHTTP(b *testing.B) {
	benchmarkStream(b, func(be *Backend, body []byte) (io.ReadCloser, error) {
		return be.send(context.Background(), http.MethodPost, "/s", body, nil, true)
	})
}

func benchmarkStream(b *testing.B, open func(*Backend, []byte) (io.ReadCloser, error)) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, testChunk)
		w.(http.Flusher).Flush()
		io.WriteString(w, testChunk+"data: [DONE]\n\n")
	}))
	defer srv.Close()
	be, err := NewBackend(testProvider(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	buf := make([]byte, 4<<10)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := open(be, body)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := rc.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		rc.Close()
	}
}
