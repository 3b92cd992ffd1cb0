package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func startTestNullGateway(t *testing.T, upstream string) *nullGateway {
	t.Helper()
	g, err := startNullGateway("127.0.0.1:0", upstream, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.shutdown(ctx)
	})
	return g
}

// rawReply is one reply as the client sees it: status, headers that matter, the whole body.
type rawReply struct {
	status        int
	contentType   string
	contentLength int
	body          []byte
}

// postRaw POSTs body and reads the reply with a streaming client, as the load tool does.
func postRaw(t *testing.T, url, body string) rawReply {
	t.Helper()
	client := &fasthttp.Client{StreamResponseBody: true}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r := rawReply{status: resp.StatusCode(), contentType: string(resp.Header.ContentType()), contentLength: resp.Header.ContentLength()}
	if s := resp.BodyStream(); s != nil {
		b, err := io.ReadAll(io.LimitReader(s, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		r.body = b
		_ = resp.CloseBodyStream()
	} else {
		r.body = append([]byte(nil), resp.Body()...)
	}
	return r
}

func TestNullGatewayRelaysRepliesByteForByte(t *testing.T) {
	m := startTestMock(t, mockOptions{chunks: 5})
	g := startTestNullGateway(t, "http://"+m.ln.Addr().String())
	viaNull := "http://" + g.addr() + "/v1/chat/completions"

	plain := string(chatBody("gpt-4o-mini", false))
	direct, relayed := postRaw(t, m.chatURL(), plain), postRaw(t, viaNull, plain)
	if direct.status != 200 || relayed.status != 200 || !bytes.Equal(direct.body, relayed.body) || len(relayed.body) == 0 {
		t.Fatalf("non-streamed: direct %d %q\nrelayed %d %q", direct.status, direct.body, relayed.status, relayed.body)
	}
	if relayed.contentType != direct.contentType || relayed.contentLength != len(direct.body) {
		t.Errorf("non-streamed: content type %q length %d, want %q and %d", relayed.contentType, relayed.contentLength, direct.contentType, len(direct.body))
	}

	stream := string(chatBody("gpt-4o-mini", true))
	direct, relayed = postRaw(t, m.chatURL(), stream), postRaw(t, viaNull, stream)
	if direct.status != 200 || relayed.status != 200 || !bytes.Equal(direct.body, relayed.body) {
		t.Fatalf("streamed: direct %d %q\nrelayed %d %q", direct.status, direct.body, relayed.status, relayed.body)
	}
	if !bytes.HasSuffix(relayed.body, sseDoneEvent) || bytes.Count(relayed.body, []byte("data: ")) != 7 {
		t.Errorf("streamed: 5 chunks, usage and [DONE] expected: %q", relayed.body)
	}
	if relayed.contentType != "text/event-stream" || relayed.contentLength != -1 {
		t.Errorf("streamed: content type %q length %d, want text/event-stream, chunked", relayed.contentType, relayed.contentLength)
	}
	if m.requests.Load() != 4 {
		t.Errorf("the mock served %d requests, want 4 (2 direct, 2 relayed)", m.requests.Load())
	}

	// Under load, through the load tool's own requester: keep-alive connections are reused and
	// every stream ends with [DONE].
	for _, streamed := range []bool{false, true} {
		r := testRequester(t, viaNull, chatBody("gpt-4o-mini", streamed), streamed, 4)
		s := runLoad(context.Background(), loadPlan{requester: r, concurrency: 4, duration: time.Minute, requests: 200})
		if s.OK != 200 || s.Failed != 0 {
			t.Errorf("stream=%v: ok %d failed %d %+v", streamed, s.OK, s.Failed, s.Errors)
		}
	}
}

// TestNullGatewayFlushesEachChunkAsItArrives holds the upstream's second chunk back until the
// first has come out of the null gateway: a relay that buffered the stream would never pass
// the first chunk on, and the test would fail at its bound instead of hanging.
func TestNullGatewayFlushesEachChunkAsItArrives(t *testing.T) {
	first, second := []byte("data: {\"n\":1}\n\n"), []byte("data: {\"n\":2}\n\ndata: [DONE]\n\n")
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			if writeFlush(w, first) != nil {
				return
			}
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			_ = writeFlush(w, second)
		})
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	g := startTestNullGateway(t, "http://"+ln.Addr().String())

	client := &fasthttp.Client{StreamResponseBody: true}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + g.addr() + "/v1/chat/completions")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetBodyString(`{"stream":true}`)
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.CloseBodyStream() }()
	body := resp.BodyStream()
	got := make([]byte, 0, 256)
	buf := make([]byte, 256)
	for len(got) < len(first) {
		n, err := body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("before the second chunk was sent: read %q, then %v", got, err)
		}
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("first chunk %q, want %q", got, first)
	}
	close(release)
	rest, err := io.ReadAll(io.LimitReader(body, 1<<16))
	if err != nil || !bytes.Equal(rest, second) {
		t.Fatalf("rest %q (%v), want %q", rest, err, second)
	}
}

func TestNullGatewayErrorsAndFlags(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	g := startTestNullGateway(t, closed)
	reply := postRaw(t, "http://"+g.addr()+"/v1/chat/completions", "{}")
	if reply.status != fasthttp.StatusBadGateway || !strings.Contains(string(reply.body), "null gateway: upstream") {
		t.Errorf("closed upstream: %d %q", reply.status, reply.body)
	}
	if code := fasthttpStatus(t, fasthttp.MethodGet, "http://"+g.addr()+"/v1/chat/completions"); code != fasthttp.StatusMethodNotAllowed {
		t.Errorf("GET: %d", code)
	}
	for _, bad := range [][2]string{
		{"0.0.0.0:0", "http://127.0.0.1:1"},
		{"127.0.0.1:0", "http://192.0.2.1:80"},
		{"127.0.0.1:0", "http://127.0.0.1:1/v1"},
		{"127.0.0.1:0", "https://127.0.0.1:1"},
		{"127.0.0.1:0", "http://127.0.0.1"},
	} {
		if g, err := startNullGateway(bad[0], bad[1], time.Second); err == nil {
			_ = g.shutdown(context.Background())
			t.Errorf("listen %s upstream %s accepted", bad[0], bad[1])
		}
	}
	if code := run(context.Background(), []string{"nullgw", "-upstream", "http://192.0.2.1:80"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("nullgw with a remote upstream: exit %d", code)
	}
}

func fasthttpStatus(t *testing.T, method, url string) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(method)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode()
}

func TestNullGatewayCommandServesUntilItsLifetimeEnds(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"nullgw", "-listen", "127.0.0.1:0", "-d", "50ms"}, &out, io.Discard)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if addr, ok := listeningAddr(strings.SplitN(out.String(), "\n", 2)[0]); !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("first line must say where it listens: %q", out.String())
	}
}
