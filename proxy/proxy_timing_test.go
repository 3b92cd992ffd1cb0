package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var benchRunBody = []byte(`{"variables":{"name":"Alice","product":"Tracia"},"tags":["a","b"],"userId":"u1","sessionId":"s1",` +
	`"traceId":"tr_0123456789abcdef","parentSpanId":"sp_0123456789abcdef"}`)

func BenchmarkDecodeRunRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRunBody)))
	for b.Loop() {
		if _, err := decodeRunRequest(benchRunBody); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServer is tracegate on an in-memory listener, with a fasthttp OpenAI upstream on
// loopback answering a fixed reply, and spans exported nowhere (a discarding exporter behind
// the real batch processor).
func benchServer(b *testing.B) (*fasthttp.Client, func()) {
	b.Helper()
	return benchServerWith(b, nil)
}

// benchServerWith is benchServer with setup applied to the server and its recorder before
// it serves.
func benchServerWith(b *testing.B, setup func(*Server, *spans.Recorder)) (*fasthttp.Client, func()) {
	b.Helper()
	reply := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`)
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	chunk := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}` + "\n\n"
	stream := []byte(chunk + chunk + `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}` + "\n\ndata: [DONE]\n\n")
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if bytes.HasSuffix(ctx.Path(), []byte("/embeddings")) {
			ctx.SetContentType("application/json")
			ctx.SetBody(benchEmbeddingsReply)
			return
		}
		if h, ok := benchUpstreams[string(ctx.Path())]; ok { // other wire formats
			h(ctx)
			return
		}
		if bytes.Contains(ctx.PostBody(), []byte(`"stream":true`)) {
			ctx.SetContentType("text/event-stream")
			ctx.SetBody(stream)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(reply)
	}}
	go up.Serve(upLn)

	client, stop := benchTracegate(b, []config.Provider{
		{Name: "openai", Type: "openai", BaseURL: "http://" + upLn.Addr().String() + "/v1", APIKey: "sk-bench", Timeout: config.Duration(5e9)},
		{Name: "anthropic", Type: "anthropic", BaseURL: "http://" + upLn.Addr().String(), APIKey: "sk-ant-bench", Timeout: config.Duration(5e9)},
	}, []config.Route{{Match: "claude-*", Provider: "anthropic"}, {Match: "*", Provider: "openai"}}, setup)
	return client, func() { stop(); up.Shutdown() }
}

// benchTracegate is tracegate on an in-memory listener routing to providers, with spans
// exported nowhere (a discarding exporter behind the real batch processor).
// setup, when not nil, is applied to the server and its recorder before it serves.
func benchTracegate(b testing.TB, providers []config.Provider, routes []config.Route, setup func(*Server, *spans.Recorder)) (*fasthttp.Client, func()) {
	b.Helper()
	router, err := provider.NewRouter(providers, routes)
	if err != nil {
		b.Fatal(err)
	}
	table, _ := pricing.Embedded()
	rt := &Runtime{Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{MaxAttempts: 1}, nil), Prices: table}
	rec := spans.NewWithExporter(tracetest.NewNoopExporter(), spans.Options{}, false)
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := registry.New(registry.NewFileSource("testdata/prompts", log))
	srv := New(Options{MaxBodyBytes: 1 << 20}, reg, rec, log, rt)
	if setup != nil {
		setup(srv, rec)
	}
	if benchOverTCP {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(ln)
		addr := ln.Addr().String()
		client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return net.Dial("tcp", addr) }}
		return client, func() { srv.fast.Shutdown() }
	}
	ln := fasthttputil.NewInmemoryListener()
	go srv.Serve(ln)
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return client, func() { srv.fast.Shutdown() }
}

// benchOverTCP makes benchTracegate serve on a loopback TCP listener instead of an in-memory
// one, so that what only real sockets do (the client disconnect watch) is measured too.
var benchOverTCP = false

func benchRoundTrip(b *testing.B, client *fasthttp.Client, uri string, body []byte) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	b.ReportAllocs()
	for b.Loop() {
		req.SetBody(body)
		if err := client.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
	}
}

// BenchmarkPassthrough is POST /v1/chat/completions end to end: inbound HTTP, scan, route,
// upstream call, usage scan, price, spans, reply.
func BenchmarkPassthrough(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/chat/completions",
		[]byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}`))
}

// BenchmarkPassthroughTCP is BenchmarkPassthrough with tracegate on a loopback TCP socket:
// the client's connection is watched for a disconnect as in production. Its allocations are
// the span recording's alone (BenchmarkRunSpansPassthrough in spans measures that work).
func BenchmarkPassthroughTCP(b *testing.B) {
	benchOverTCP = true
	defer func() { benchOverTCP = false }()
	BenchmarkPassthrough(b)
}

// BenchmarkRunAPI is POST /api/v1/prompts/{slug}/run end to end: decode, registry hit,
// render, encode for OpenAI, upstream call, decode, price, spans, RunResult.
func BenchmarkRunAPI(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/api/v1/prompts/greet/run", []byte(`{"version":1,"variables":{"name":"Alice"}}`))
}

// BenchmarkPassthroughStream is a streamed POST /v1/chat/completions end to end with a
// three-chunk upstream stream (two content chunks and the usage chunk) and [DONE].
func BenchmarkPassthroughStream(b *testing.B) {
	client, stop := benchServer(b)
	defer stop()
	benchRoundTrip(b, client, "http://tracegate/v1/chat/completions",
		[]byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello"}]}`))
}
