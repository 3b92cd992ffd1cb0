package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// mockModel is the model named in every mock reply.
const mockModel = "gpt-4o-mini"

// mockUpstream is a fast OpenAI chat completions server with fixed replies, the upstream both
// sides of a comparison call. Every reply is built once at start, so the mock's own cost is a
// body scan for "stream" and one write. It also accepts OTLP/HTTP span exports on /v1/traces,
// so tracegate can export spans somewhere real during a benchmark.
type mockUpstream struct {
	opts       mockOptions
	completion []byte
	chunks     [][]byte
	usageChunk []byte
	server     *fasthttp.Server
	ln         net.Listener
	parsers    fastjson.ParserPool

	requests    atomic.Int64 // chat completion requests served
	spanExports atomic.Int64 // OTLP export requests received
}

// mockStatsPath serves the mock's counters as JSON, so compare can count the requests that
// reached a mock running in another process.
const mockStatsPath = "/_mock/stats"

var (
	sseDoneEvent = []byte("data: [DONE]\n\n")
	mockError404 = []byte(`{"error":{"message":"mock upstream serves POST /v1/chat/completions only","type":"invalid_request_error","param":null,"code":null}}`)
)

// startMock listens on addr (loopback only) and serves until shutdown.
func startMock(addr string, opts mockOptions) (*mockUpstream, error) {
	if err := loopbackAddr(addr); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock upstream listen: %w", err)
	}
	m := &mockUpstream{opts: opts, ln: ln}
	m.buildReplies()
	m.server = newServer("tracegate-load-mock", m.handle)
	go func() { _ = m.server.Serve(ln) }()
	return m, nil
}

// baseURL is what an openai provider's base_url should be to reach the mock.
func (m *mockUpstream) baseURL() string { return "http://" + m.ln.Addr().String() + "/v1" }

// chatURL is the mock's chat completions endpoint, the direct-call target.
func (m *mockUpstream) chatURL() string { return m.baseURL() + "/chat/completions" }

func (m *mockUpstream) shutdown(ctx context.Context) error {
	return m.server.ShutdownWithContext(ctx)
}

func (m *mockUpstream) buildReplies() {
	m.completion = fmt.Appendf(nil, `{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":%q,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock upstream.","refusal":null},"logprobs":null,"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19},"system_fingerprint":"fp_mock"}`, mockModel)
	n := m.opts.chunks
	m.chunks = make([][]byte, n)
	for i := range n {
		role, finish := "", "null"
		if i == 0 {
			role = `"role":"assistant",`
		}
		if i == n-1 {
			finish = `"stop"`
		}
		m.chunks[i] = fmt.Appendf(nil, `data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":%q,`+
			`"choices":[{"index":0,"delta":{%s"content":"tok%d "},"logprobs":null,"finish_reason":%s}]}`+"\n\n", mockModel, role, i, finish)
	}
	m.usageChunk = fmt.Appendf(nil, `data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":%q,`+
		`"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", mockModel, n, 12+n)
}

func (m *mockUpstream) handle(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/v1/chat/completions", "/chat/completions":
	case "/v1/traces":
		m.spanExports.Add(1)
		ctx.SetContentType("application/x-protobuf")
		return
	case mockStatsPath:
		ctx.SetContentType("application/json")
		ctx.SetBody(fmt.Appendf(nil, `{"requests":%d,"span_exports":%d}`, m.requests.Load(), m.spanExports.Load()))
		return
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
		ctx.Response.SetBodyRaw(mockError404)
		return
	}
	if !ctx.IsPost() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	m.requests.Add(1)
	stream, includeUsage, err := m.streamFlags(ctx.PostBody())
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"message":"mock upstream: body is not a JSON object","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	if m.opts.delay > 0 {
		time.Sleep(m.opts.delay)
	}
	if !stream {
		ctx.SetContentType("application/json")
		ctx.Response.SetBodyRaw(m.completion)
		return
	}
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for i, chunk := range m.chunks {
			if i > 0 && m.opts.chunkDelay > 0 {
				time.Sleep(m.opts.chunkDelay)
			}
			if writeFlush(w, chunk) != nil {
				return
			}
		}
		if includeUsage && writeFlush(w, m.usageChunk) != nil {
			return
		}
		_ = writeFlush(w, sseDoneEvent)
	})
}

// writeFlush sends one SSE event now: each chunk is flushed as it would be by a real
// upstream, so a gateway in front is measured on relaying chunks, not on one buffered body.
func writeFlush(w *bufio.Writer, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Flush()
}

func (m *mockUpstream) streamFlags(body []byte) (stream, includeUsage bool, err error) {
	p := m.parsers.Get()
	defer m.parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return false, false, err
	}
	if v.Type() != fastjson.TypeObject {
		return false, false, errors.New("not an object")
	}
	return v.GetBool("stream"), v.GetBool("stream_options", "include_usage"), nil
}

// runMockCommand is the mock subcommand: serve the mock upstream for at most -d.
func runMockCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tracegate-load mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:18081", "loopback address to serve on (port 0: any free port, printed on start)")
	lifetime := fs.Duration("d", time.Hour, "stop serving after this long")
	stdinEOF := fs.Bool("exit-on-stdin-eof", false, "also stop when stdin closes (compare starts the mock this way)")
	var opts mockOptions
	addMockFlags(fs, &opts)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *lifetime <= 0 {
		fmt.Fprintln(stderr, "tracegate-load mock: -d must be positive")
		return exitUsage
	}
	m, err := startMock(*listen, opts)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load mock: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "mock upstream%s%s\n", listeningMarker, m.ln.Addr())
	fmt.Fprintf(stdout, "mock upstream: openai base_url %s (chat at %s), serving for %s\n", m.baseURL(), m.chatURL(), *lifetime)
	serveCtx, stopServing := serveContext(ctx, *lifetime, *stdinEOF)
	defer stopServing()
	<-serveCtx.Done()
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.shutdown(grace); err != nil {
		fmt.Fprintf(stderr, "tracegate-load mock: shutdown: %v\n", err)
	}
	fmt.Fprintf(stdout, "mock upstream: served %d chat requests, %d span exports\n", m.requests.Load(), m.spanExports.Load())
	return exitOK
}

// newServer is the fasthttp server the tool's own endpoints (mock, null gateway) run on.
func newServer(name string, h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               h,
		Name:                  name,
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		ReadTimeout:           time.Minute,
		IdleTimeout:           time.Minute,
		MaxRequestBodySize:    8 << 20,
	}
}
