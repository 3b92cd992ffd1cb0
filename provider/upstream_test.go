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
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// hangingUpstream answers nothing until its client drops the call, and counts the calls it
// saw end that way.
func hangingUpstream(t *testing.T) (*httptest.Server, *atomic.Int32, chan struct{}) {
	var cancelled atomic.Int32
	arrived := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // net/http notices a closed connection only after the body
		arrived <- struct{}{}
		<-r.Context().Done()
		cancelled.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &cancelled, arrived
}

// A caller that leaves while a non-streaming call waits for its reply headers drops the
// upstream connection, and no retry starts.
func TestCancelAbandonsANonStreamingCallAwaitingHeaders(t *testing.T) {
	for _, route := range []string{"complete", "forward"} {
		t.Run(route, func(t *testing.T) {
			srv, cancelled, arrived := hangingUpstream(t)
			d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-arrived; cancel() }()
			attempts := 0
			observe := func(Attempt) func(*llm.Response, error) { attempts++; return func(*llm.Response, error) {} }
			var err error
			if route == "complete" {
				_, err = d.Complete(ctx, "gpt-4o-mini", simpleRequest(), observe)
			} else {
				_, err = d.Forward(ctx, "gpt-4o-mini", []byte(`{"model":"gpt-4o-mini","messages":[]}`), nil, observe)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if attempts != 1 {
				t.Fatalf("%d attempts after the caller left, want 1", attempts)
			}
			srv.Close() // waits for the handler, which returns only once the call was dropped
			if cancelled.Load() != 1 {
				t.Fatalf("upstream saw %d dropped calls, want 1", cancelled.Load())
			}
		})
	}
}

// The same for a stream whose upstream has not sent its headers yet.
func TestCancelAbandonsAStreamAwaitingHeaders(t *testing.T) {
	srv, cancelled, arrived := hangingUpstream(t)
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := d.ForwardStream(ctx, "gpt-4o-mini", []byte(`{"model":"gpt-4o-mini","stream":true}`), nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	srv.Close()
	if cancelled.Load() != 1 {
		t.Fatalf("upstream saw %d dropped calls, want 1", cancelled.Load())
	}
}

// A backend timeout is a TIMEOUT and is retried while the caller waits; the attempts stop at
// retry.max_elapsed.
func TestTimeoutRetriesStopAtMaxElapsed(t *testing.T) {
	srv, _, _ := hangingUpstream(t)
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	d.router.backends["openai"].Timeout = 50 * time.Millisecond
	d.retry.MaxAttempts = 100
	d.retry.MaxElapsed = 400 * time.Millisecond
	d.retry.InitialBackoff, d.retry.MaxBackoff = time.Millisecond, time.Millisecond
	d.sleep = sleepCtx
	attempts := 0
	_, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), func(Attempt) func(*llm.Response, error) {
		attempts++
		return func(*llm.Response, error) {}
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if attempts < 2 || attempts > 9 {
		t.Fatalf("%d attempts of 50ms within max_elapsed 400ms, want 2 to 9 (max_attempts is 100)", attempts)
	}
}

func TestNonJSONSuccessIsAMalformedReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>502 Bad Gateway</html>")
	}))
	defer srv.Close()
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	if _, err := d.Forward(context.Background(), "gpt-4o-mini", []byte(`{"model":"gpt-4o-mini"}`), nil, nil); !errors.Is(err, ErrMalformedReply) {
		t.Fatalf("passthrough: err = %v, want ErrMalformedReply", err)
	}
	if _, err := d.Complete(context.Background(), "gpt-4o-mini", simpleRequest(), nil); !errors.Is(err, ErrMalformedReply) {
		t.Fatalf("translated: err = %v, want ErrMalformedReply", err)
	}
}

// A reply past max_response_bytes fails without being read whole, with or without a
// Content-Length.
func TestReplyOverMaxResponseBytes(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		var wrote atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)
			if !chunked {
				w.Header().Set("Content-Length", "67108864")
			}
			for i := 0; i < 1024; i++ {
				n, err := w.Write(chunk)
				wrote.Add(int64(n))
				if err != nil {
					return
				}
			}
		}))
		d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
		d.router.backends["openai"].MaxResponseBytes = 1 << 20
		_, err := d.Forward(context.Background(), "gpt-4o-mini", []byte(`{"model":"gpt-4o-mini"}`), nil, nil)
		if !errors.Is(err, ErrResponseTooLarge) {
			t.Fatalf("chunked=%v: err = %v, want ErrResponseTooLarge", chunked, err)
		}
		srv.Close()
		if w := wrote.Load(); w >= 64<<20 {
			t.Fatalf("chunked=%v: the upstream wrote its whole %d bytes", chunked, w)
		}
	}
}

// BenchmarkUpstreamRoundTrip is the per-call cost of a non-streaming exchange on loopback.
func BenchmarkUpstreamRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
	}))
	defer srv.Close()
	be, err := NewBackend(testProvider(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		reply := bytebufferpool.Get()
		if err := be.roundTrip(context.Background(), "/chat/completions", body, reply); err != nil {
			b.Fatal(err)
		}
		bytebufferpool.Put(reply)
	}
}

func testProvider(url string) config.Provider {
	return config.Provider{Name: "openai", Type: "openai", BaseURL: url, APIKey: "sk-test-key-abcdefghijkl"}
}

// BenchmarkFasthttpRoundTrip is the same call through fasthttp's client, which tracegate used
// before: the difference is what cancellation at any stage costs per call.
func BenchmarkFasthttpRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
	}))
	defer srv.Close()
	c := &fasthttp.Client{MaxConnsPerHost: 1024, ReadBufferSize: 16 << 10}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(srv.URL + "/chat/completions")
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", "Bearer sk-test-key-abcdefghijkl")
		req.SetBodyRaw(body)
		if err := c.DoDeadline(req, resp, time.Now().Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
}

// Closing a stream that is still running, without cancelling it first, drops it promptly
// instead of waiting for the provider's next bytes.
func TestClosingAnUnfinishedStreamDropsIt(t *testing.T) {
	srv, cancelled := hangingStreamUpstream(t)
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	fs, err := d.ForwardStream(context.Background(), "gpt-4o-mini", []byte(`{"model":"gpt-4o-mini","stream":true}`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs.Close()
	srv.Close()
	if cancelled.Load() != 1 {
		t.Fatalf("upstream saw %d dropped calls, want 1", cancelled.Load())
	}
}

// hangingStreamUpstream sends a stream's headers and first chunk, then nothing until its
// caller drops the call.
func hangingStreamUpstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var cancelled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &cancelled
}

// BenchmarkFastRoundTrip is a non-streaming exchange on the pooled fasthttp path against a
// fasthttp upstream (which allocates nothing itself), so allocs/op is the client side's own:
// zero for a context that never ends and for a DoneNotifier, context.AfterFunc's otherwise.
func BenchmarkFastRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	reply := []byte(`{"id":"x","object":"chat.completion","choices":[]}`)
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(reply)
	}}
	go up.Serve(ln)
	defer up.Shutdown()
	be, err := NewBackend(testProvider("http://" + ln.Addr().String()))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	run := func(b *testing.B, ctx context.Context) {
		b.ReportAllocs()
		for b.Loop() {
			buf := bytebufferpool.Get()
			if err := be.roundTrip(ctx, "/chat/completions", body, buf); err != nil {
				b.Fatal(err)
			}
			bytebufferpool.Put(buf)
		}
	}
	b.Run("background", func(b *testing.B) { run(b, context.Background()) })
	b.Run("notifier", func(b *testing.B) {
		n := &testNotifier{Context: context.Background(), done: make(chan struct{})}
		run(b, n)
	})
	b.Run("cancelable", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		run(b, ctx)
	})
}

// testNotifier is a context that never ends but has a Done channel and implements
// DoneNotifier, as the proxy's client watch does.
type testNotifier struct {
	context.Context
	done chan struct{}
	hook func()
}

func (n *testNotifier) Done() <-chan struct{}  { return n.done }
func (n *testNotifier) NotifyDone(hook func()) { n.hook = hook }
func (n *testNotifier) StopNotify()            { n.hook = nil }
