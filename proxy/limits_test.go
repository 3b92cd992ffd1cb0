package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/metrics"
	"github.com/valyala/fasthttp"
)

func TestConcurrencyLimitCounts(t *testing.T) {
	l := newConcurrencyLimit(2)
	for i := range 2 {
		if !l.acquire() {
			t.Fatalf("slot %d of 2 refused", i+1)
		}
	}
	if l.acquire() {
		t.Fatal("third slot of two granted")
	}
	l.release()
	if !l.acquire() {
		t.Fatal("freed slot refused")
	}
	// A stream keeps its slot past its handler: the count may pass the limit...
	l.hold()
	if got := l.active.Load(); got != 3 {
		t.Fatalf("active %d, want 3", got)
	}
	l.release()
	// ...and the held stream plus one request still fill it.
	if l.acquire() {
		t.Fatal("slot granted while a held stream and a request fill the limit")
	}
	l.release()
	if !l.acquire() {
		t.Fatal("slot refused with only the held stream out")
	}
	unlimited := newConcurrencyLimit(0)
	for range 1000 {
		if !unlimited.acquire() {
			t.Fatal("max_concurrent 0 refused a request")
		}
	}
	if unlimited.active.Load() != 0 {
		t.Error("an unlimited limit counts requests for nothing")
	}
}

func TestFasthttpConcurrencyIsABackstop(t *testing.T) {
	if got := fasthttpConcurrency(0); got != fasthttp.DefaultConcurrency {
		t.Errorf("no limit: %d", got)
	}
	if got := fasthttpConcurrency(4096); got < 4096*2 {
		t.Errorf("backstop %d is not well above max_concurrent", got)
	}
	if got := fasthttpConcurrency(1 << 20); got != 4<<20 {
		t.Errorf("large limit: %d", got)
	}
}

// runAsync starts a run in the background and returns its outcome on a channel.
func runAsync(h *harness, slug string, body any) <-chan int {
	done := make(chan int, 1)
	go func() {
		status, _, _ := h.run(slug, body)
		done <- status
	}()
	return done
}

func TestMaxConcurrentRefusesExcessRequests(t *testing.T) {
	up := newGatedUpstream(t, fixture(t, "openai/plain_text.response.json"))
	s := newOpsServer(t, opsServerOptions{upstreamURL: up.srv.URL, openAIKey: "sk-test-000000000000", withMock: true, maxConcurrent: 1})

	held := runAsync(s.harness, "greet", map[string]any{"version": 1, "variables": map[string]string{"name": "Ada"}})
	up.waitArrived(t)

	// The run API's shape, with a retry hint.
	status, hdr, out := s.run("demo", map[string]any{"variables": map[string]string{"name": "x"}})
	code, msg := errorCode(t, out)
	if status != 503 || code != "UNKNOWN" || !strings.Contains(msg, "server.max_concurrent (1)") || hdr.Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d %s %q Retry-After=%q", status, code, msg, hdr.Get("Retry-After"))
	}
	if ms, err := strconv.ParseFloat(hdr.Get(metrics.OverheadHeader), 64); err != nil || ms < 0 {
		t.Errorf("a refusal's %s: %q", metrics.OverheadHeader, hdr.Get(metrics.OverheadHeader))
	}
	// OpenAI's shape on the OpenAI endpoint.
	status, _, out = s.do(http.MethodPost, "/v1/chat/completions", `{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}`, nil)
	e, _ := out["error"].(map[string]any)
	if status != 503 || e == nil || e["type"] == nil || !strings.Contains(e["message"].(string), "max_concurrent") {
		t.Fatalf("over the limit on /v1: %d %v", status, out)
	}
	if _, ok := e["param"]; !ok {
		t.Errorf("OpenAI error without param: %v", out)
	}
	// Ops endpoints are exempt.
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _, body := s.get(path, nil); status != 200 {
			t.Errorf("%s at the limit: %d %s", path, status, body)
		}
	}
	refused := s.obs.byRoute(metrics.RouteRun)
	if len(refused) != 1 || refused[0].Status != 503 || refused[0].Code != "UNKNOWN" {
		t.Errorf("refusal reported as %+v", refused)
	}

	up.open()
	if status := <-held; status != 200 {
		t.Fatalf("held request: %d", status)
	}
	// The slot is free again.
	if status, _, out := s.run("demo", map[string]any{"variables": map[string]string{"name": "x"}}); status != 200 {
		t.Fatalf("after the held request: %d %v", status, out)
	}
}

func TestStreamBodyHoldsItsSlotUntilTheStreamEnds(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(open)
	s := newOpsServer(t, opsServerOptions{withMock: true, maxConcurrent: 1, setup: func(srv *Server) {
		srv.fast.Handler = func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/test-stream" {
				srv.Handle(ctx)
				return
			}
			// What Handle does around a route, with a streaming handler as the route.
			if !srv.limit.acquire() {
				srv.refuseOverloaded(ctx, ctx.Path())
				return
			}
			defer srv.limit.release()
			ctx.SetContentType("text/plain")
			srv.streamBody(ctx, &gatedStream{parts: []string{"first\n", "last\n"}, gate: release})
		}
	}})

	resp, err := http.Get(s.base + "/test-stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first line %q: %v", first, err)
	}
	// The handler has returned; the stream still counts.
	if got := s.server.InFlight(); got != 1 {
		t.Errorf("in flight during the stream: %d", got)
	}
	if got := s.obs.streams.Load(); got != 1 {
		t.Errorf("streams in flight: %d", got)
	}
	status, _, out := s.run("demo", map[string]any{"variables": map[string]string{"name": "x"}})
	if status != 503 {
		t.Errorf("a run while the stream holds the only slot: %d %v", status, out)
	}

	open()
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "last\n" {
		t.Errorf("rest of stream %q", rest)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (s.server.InFlight() != 0 || s.obs.streams.Load() != 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.server.InFlight() != 0 || s.obs.streams.Load() != 0 || s.server.limit.active.Load() != 0 {
		t.Fatalf("after the stream: in flight %d, streams %d, slots %d", s.server.InFlight(), s.obs.streams.Load(), s.server.limit.active.Load())
	}
	if status, _, out := s.run("demo", map[string]any{"variables": map[string]string{"name": "x"}}); status != 200 {
		t.Fatalf("after the stream: %d %v", status, out)
	}
}

// gatedStream is a response body that yields its first part at once and the rest only after
// gate closes, like a provider stream that pauses.
type gatedStream struct {
	parts []string
	gate  <-chan struct{}
	sent  int
}

func (g *gatedStream) Read(p []byte) (int, error) {
	if g.sent == len(g.parts) {
		return 0, io.EOF
	}
	if g.sent > 0 {
		<-g.gate
	}
	n := copy(p, g.parts[g.sent])
	g.sent++
	return n, nil
}

func (g *gatedStream) CloseWithError(error) error { return nil }
