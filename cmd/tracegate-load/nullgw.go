package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// nullGateway is the least a gateway can do: take a POST, send its body to the upstream, relay
// the reply. It parses nothing, logs nothing and keeps no state beyond connection pools, so a
// run through it measures what the extra loopback hop alone costs on this machine: the floor
// under any gateway, tracegate included.
//
// Every reply is relayed as fasthttp's body stream: the upstream's body stream becomes the
// response's, which fasthttp writes as it reads. A streamed reply (the request asked for
// "stream":true, or the upstream answers text/event-stream or without a length) goes out
// chunked, each read of the upstream body flushed as one chunk; any other reply keeps the
// upstream's Content-Length.
type nullGateway struct {
	client *fasthttp.HostClient
	server *fasthttp.Server
	ln     net.Listener
	host   string
}

var (
	streamTrue     = []byte(`"stream":true`)
	streamTrueSpc  = []byte(`"stream": true`)
	eventStreamCT  = []byte("text/event-stream")
	nullGWBadGWMsg = "null gateway: upstream: "
)

// startNullGateway listens on listen and relays to upstream, an http://host:port URL; both
// must be loopback.
func startNullGateway(listen, upstream string, timeout time.Duration) (*nullGateway, error) {
	if err := loopbackAddr(listen); err != nil {
		return nil, err
	}
	u, err := loopbackURL(upstream)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || (u.Path != "" && u.Path != "/") || u.Port() == "" {
		return nil, fmt.Errorf("%q: want http://host:port (the request path is relayed as it is)", upstream)
	}
	if timeout <= 0 {
		return nil, errors.New("timeout must be positive")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("null gateway listen: %w", err)
	}
	g := &nullGateway{
		client: &fasthttp.HostClient{
			Addr:                     u.Host,
			Name:                     "tracegate-load-nullgw",
			NoDefaultUserAgentHeader: true,
			MaxConns:                 4096,
			ReadTimeout:              timeout,
			WriteTimeout:             timeout,
			MaxIdleConnDuration:      time.Minute,
			StreamResponseBody:       true,
		},
		ln:   ln,
		host: u.Host,
	}
	g.server = newServer("tracegate-load-nullgw", g.handle)
	go func() { _ = g.server.Serve(ln) }()
	return g, nil
}

func (g *nullGateway) addr() string { return g.ln.Addr().String() }

func (g *nullGateway) shutdown(ctx context.Context) error {
	err := g.server.ShutdownWithContext(ctx)
	g.client.CloseIdleConnections()
	return err
}

func (g *nullGateway) handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	body := ctx.PostBody()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURIBytes(ctx.Request.Header.RequestURI())
	req.SetHost(g.host)
	req.Header.SetContentTypeBytes(ctx.Request.Header.ContentType())
	if accept := ctx.Request.Header.Peek("Accept"); len(accept) > 0 {
		req.Header.SetBytesV("Accept", accept)
	}
	req.SetBodyRaw(body)

	rb := relayBodyPool.Get().(*relayBody)
	if err := g.client.Do(req, &rb.resp); err != nil {
		rb.release()
		ctx.SetStatusCode(fasthttp.StatusBadGateway)
		ctx.SetBodyString(nullGWBadGWMsg + err.Error())
		return
	}
	ctx.SetStatusCode(rb.resp.StatusCode())
	ctx.Response.Header.SetContentTypeBytes(rb.resp.Header.ContentType())
	if rb.resp.BodyStream() == nil { // no body at all
		rb.release()
		return
	}
	size := rb.resp.Header.ContentLength()
	if size < 0 || bytes.Contains(body, streamTrue) || bytes.Contains(body, streamTrueSpc) ||
		bytes.HasPrefix(rb.resp.Header.ContentType(), eventStreamCT) {
		size = -1 // chunked: each read of the upstream body is written and flushed as it comes
	}
	rb.open = true
	ctx.Response.SetBodyStream(rb, size) // fasthttp closes rb when the body is written or abandoned
}

// relayBody is the upstream's streamed body, handed to the server as the reply's body stream.
// Closing it closes the upstream stream, which returns the connection to the pool once the
// body was read to the end (and drops it otherwise), and recycles the response.
type relayBody struct {
	resp fasthttp.Response
	open bool
}

var relayBodyPool = sync.Pool{New: func() any { return &relayBody{} }}

func (r *relayBody) Read(p []byte) (int, error) {
	if !r.open {
		return 0, io.ErrClosedPipe
	}
	return r.resp.BodyStream().Read(p)
}

func (r *relayBody) Close() error {
	if !r.open {
		return nil
	}
	r.open = false
	err := r.resp.CloseBodyStream()
	r.release()
	return err
}

func (r *relayBody) release() {
	_ = r.resp.CloseBodyStream()
	r.resp.Reset()
	relayBodyPool.Put(r)
}

// runNullGatewayCommand is the nullgw subcommand: relay to -upstream for at most -d.
func runNullGatewayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tracegate-load nullgw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:18082", "loopback address to serve on (port 0: any free port, printed on start)")
	upstream := fs.String("upstream", "http://127.0.0.1:18081", "upstream to relay to, http://host:port on loopback; request paths are relayed as they are")
	timeout := fs.Duration("timeout", 30*time.Second, "read and write timeout towards the upstream")
	lifetime := fs.Duration("d", time.Hour, "stop serving after this long")
	stdinEOF := fs.Bool("exit-on-stdin-eof", false, "also stop when stdin closes (compare starts the null gateway this way)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *lifetime <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tracegate-load nullgw: -d must be positive, and no arguments")
		return exitUsage
	}
	g, err := startNullGateway(*listen, *upstream, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load nullgw: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "null gateway%s%s, relaying to %s, for %s\n", listeningMarker, g.addr(), *upstream, *lifetime)
	serveCtx, stopServing := serveContext(ctx, *lifetime, *stdinEOF)
	defer stopServing()
	<-serveCtx.Done()
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.shutdown(grace); err != nil {
		fmt.Fprintf(stderr, "tracegate-load nullgw: shutdown: %v\n", err)
	}
	return exitOK
}
