package proxy

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	brrr "github.com/molecule-man/go-brrr"
	"github.com/valyala/fasthttp"
)

func compressWith(t *testing.T, enc string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w, err = flate.NewWriter(&buf, flate.BestSpeed)
	case "br":
		w, err = brrr.NewWriter(&buf, 5)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decompressRequest(enc string, body []byte, limit int) ([]byte, error) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetBody(body)
	ctx.Request.Header.Set(fasthttp.HeaderContentEncoding, enc)
	return requestBody(&ctx, limit)
}

// Every accepted encoding round-trips, and a bomb (64 MiB of zeros, a few KB compressed) is
// refused at the limit without allocating what it would expand to. The bound allows for the
// decoders' windows: brotli's reaches 16 MiB.
func TestRequestDecompressionIsBounded(t *testing.T) {
	const limit = 1 << 20
	plain := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	bomb := make([]byte, 64<<20)
	const maxAlloc = 4*limit + 24<<20
	for _, enc := range []string{"gzip", "deflate", "br", "zstd"} {
		t.Run(enc, func(t *testing.T) {
			got, err := decompressRequest(enc, compressWith(t, enc, plain), limit)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("round trip: %q, %v", got, err)
			}
			small := compressWith(t, enc, bomb)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = decompressRequest(enc, small, limit)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, errBodyTooLarge) {
				t.Fatalf("%d-byte bomb: err = %v, want errBodyTooLarge", len(small), err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
				t.Fatalf("a %d-byte bomb allocated %d bytes against a %d-byte limit", len(small), alloc, limit)
			}
			if _, err := decompressRequest(enc, []byte("not compressed at all"), limit); err == nil || errors.Is(err, errBodyTooLarge) {
				t.Fatalf("corrupt body: err = %v, want an invalid request", err)
			}
		})
	}
}
