package spans

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// fastHTTPExporter is an OTLP/HTTP protobuf span exporter built on otlpEncoder: no
// intermediate protobuf structs, no reflection, buffers reused across exports, gzip at
// BestSpeed. It supports what tracegate configures itself (endpoint URL, headers); anything
// the OTEL_EXPORTER_OTLP_* variables would change is left to the SDK exporter (see
// newOTLPExporter).
type fastHTTPExporter struct {
	url     string
	headers http.Header
	client  *http.Client

	mu  sync.Mutex // one export at a time owns enc, zw and zbuf
	enc otlpEncoder
	// zw is the exporter's own gzip writer: a fresh one costs about as much CPU as compressing
	// a full batch, and half a megabyte, which a sync.Pool emptied by every other GC (exports
	// are a second apart when traffic is light) would pay again and again.
	zw   *gzip.Writer
	zbuf *exportBody // compressed body, reused once the transport has let go of it

	stopped  atomic.Bool
	stopCtx  context.Context // cancelled by Shutdown: in-flight exports and retries end
	stopFunc context.CancelFunc
}

var errExporterShutdown = errors.New("otlp/http span exporter is shut down")

func newFastHTTPExporter(endpoint *url.URL, headers map[string]string) *fastHTTPExporter {
	u := *endpoint
	if u.Path == "" || u.Path == "/" {
		u.Path = defaultHTTPTracesPath
	}
	h := make(http.Header, len(headers)+3)
	for k, v := range headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("Content-Encoding", "gzip")
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "tracegate")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &fastHTTPExporter{
		url:     u.String(),
		headers: h,
		// Each request is bounded by its own context (exportRequestLimit); the client adds
		// nothing, and no gzipTransport: the body is compressed here.
		client:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		stopCtx:  ctx,
		stopFunc: cancel,
	}
}

// ExportSpans encodes, compresses and posts spans, retrying briefly on throttling, gateway
// errors and broken connections, never past ctx.
func (e *fastHTTPExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Load() {
		return errExporterShutdown
	}
	if len(spans) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.stopCtx, cancel)
	defer stop()

	e.mu.Lock()
	defer e.mu.Unlock()
	body, err := e.compress(e.enc.encode(spans))
	if err != nil {
		return err
	}
	return e.post(ctx, body)
}

// compress gzips raw into a reusable body; the previous one is reused only if every reader the
// transport took from it has been closed (a transport may close a body after RoundTrip returns).
func (e *fastHTTPExporter) compress(raw []byte) (*exportBody, error) {
	b := e.zbuf
	if b == nil || b.open.Load() != 0 {
		b = &exportBody{}
		e.zbuf = b
	}
	b.buf.Reset()
	if e.zw == nil {
		e.zw, _ = gzip.NewWriterLevel(nil, exportGzipLevel) // the level is valid
	}
	e.zw.Reset(&b.buf)
	_, err := e.zw.Write(raw)
	if err == nil {
		err = e.zw.Close()
	}
	e.zw.Reset(nil)
	if err != nil {
		return nil, fmt.Errorf("compress span export body: %w", err)
	}
	return b, nil
}

func (e *fastHTTPExporter) post(ctx context.Context, body *exportBody) error {
	deadline := time.Now().Add(retryMaxElapsed)
	backoff := retryInitial
	for {
		wait, err := e.postOnce(ctx, body)
		if err == nil {
			return nil
		}
		if wait < 0 {
			return err
		}
		if wait == 0 {
			wait = backoff
			backoff = min(2*backoff, retryMaxInterval)
		}
		// Give up now rather than sleep past the retry budget or the caller's deadline.
		at := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); at.After(deadline) || (ok && at.After(d)) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// postOnce sends one request. wait < 0: do not retry; 0: retry after the backoff; > 0: retry
// after that long (Retry-After).
func (e *fastHTTPExporter) postOnce(ctx context.Context, body *exportBody) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	rctx, cancel := context.WithTimeout(ctx, exportRequestLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, e.url, body.reader())
	if err != nil {
		return -1, fmt.Errorf("build span export request: %w", err)
	}
	req.Header = e.headers.Clone()
	req.ContentLength = int64(body.buf.Len())
	req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, syscall.ECONNREFUSED) {
			// Nobody listens: fail fast, as the SDK exporter does; the next batch tries again.
			return -1, fmt.Errorf("send spans to %s: %w", e.url, err)
		}
		return 0, fmt.Errorf("send spans to %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// Partial-success details are not acted on; drain so the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return 0, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	err = fmt.Errorf("send spans to %s: %s (body: %s)", e.url, resp.Status, bytes.TrimSpace(msg))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return retryAfter(resp.Header.Get("Retry-After")), err
	}
	return -1, err
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or invalid.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		if s > int64(time.Hour/time.Second) {
			return time.Hour // beyond any deadline here; post gives up
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Shutdown stops exporting: an in-flight export is cancelled, idle connections closed. It
// does not wait for anything, so it never outlasts ctx.
func (e *fastHTTPExporter) Shutdown(context.Context) error {
	e.stopped.Store(true)
	e.stopFunc()
	e.client.CloseIdleConnections()
	return nil
}

// exportBody is a compressed request body that knows whether the transport still reads it.
type exportBody struct {
	buf  bytes.Buffer
	open atomic.Int32 // readers handed out and not yet closed
}

func (b *exportBody) reader() io.ReadCloser {
	b.open.Add(1)
	return &bodyReader{Reader: bytes.NewReader(b.buf.Bytes()), body: b}
}

type bodyReader struct {
	*bytes.Reader
	body   *exportBody
	closed atomic.Bool
}

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.body.open.Add(-1)
	}
	return nil
}
