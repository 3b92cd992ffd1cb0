package spans

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// The OTLP/HTTP exporter's own gzip is the standard library's at its default level, which
// showed up as the largest single cost of exporting in profiles under load. gzipTransport
// compresses export bodies with klauspost/compress at BestSpeed instead: the same wire format
// (Content-Encoding: gzip) for a fraction of the CPU.
type gzipTransport struct{ next http.RoundTripper }

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, exportGzipLevel); return w }}

// exportGzipLevel is BestSpeed: of the levels BenchmarkGzipBatch weighs it costs the least CPU
// per span (HuffmanOnly is slower on this repetitive data and compresses 15x less, higher
// levels cost 1.5-2.5x the CPU for 7-12% smaller bodies).
const exportGzipLevel = gzip.BestSpeed

func (t gzipTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Header.Get("Content-Encoding") != "" {
		return t.next.RoundTrip(r)
	}
	raw, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read span export body: %w", err)
	}
	// A fresh buffer per export (a few a second): the transport may still be reading the body
	// after RoundTrip returns, so it cannot go back to a pool here.
	buf := bytes.NewBuffer(make([]byte, 0, len(raw)/4+64))
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(buf)
	_, err = zw.Write(raw)
	if err == nil {
		err = zw.Close()
	}
	gzipWriters.Put(zw)
	if err != nil {
		return nil, fmt.Errorf("compress span export body: %w", err)
	}
	compressed := buf.Bytes()
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(compressed))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(compressed)), nil }
	out.ContentLength = int64(len(compressed))
	out.Header.Set("Content-Encoding", "gzip")
	return t.next.RoundTrip(out)
}

// exportHTTPClient is the exporter's client: gzip through gzipTransport, each request bounded.
func exportHTTPClient() *http.Client {
	return &http.Client{
		Transport: gzipTransport{next: http.DefaultTransport.(*http.Transport).Clone()},
		Timeout:   exportRequestLimit,
	}
}

// sdkTLSEnv lists the variables that configure the exporter's TLS; only the SDK's own client
// reads them, so when one is set tracegate leaves the client (and its gzip) to the SDK.
var sdkTLSEnv = []string{
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
}
