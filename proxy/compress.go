package proxy

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"
)

// Request and response bodies may be compressed with gzip or zstd (klauspost/compress: faster
// than the standard library's gzip and the only maintained pure-Go zstd). Decompression is
// bounded by server.max_body_bytes, so a small compressed body cannot expand without limit.

var (
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(256<<20))
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	gzipReaders    sync.Pool
	gzipWriters    = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
)

// requestBody returns the request body, decompressed when Content-Encoding says so.
func requestBody(ctx *fasthttp.RequestCtx, limit int) ([]byte, error) {
	body := ctx.PostBody()
	enc := ctx.Request.Header.ContentEncoding()
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")):
		return body, nil
	case bytes.EqualFold(enc, []byte("gzip")):
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(body))
		} else {
			err = zr.Reset(bytes.NewReader(body))
		}
		if err != nil {
			return nil, invalid("gzip body: %v", err)
		}
		defer gzipReaders.Put(zr)
		out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, invalid("gzip body: %v", err)
		}
		if len(out) > limit {
			return nil, bodyTooLarge(limit)
		}
		return out, nil
	case bytes.EqualFold(enc, []byte("zstd")):
		out, err := zstdDecoder.DecodeAll(body, nil)
		if err != nil {
			return nil, invalid("zstd body: %v", err)
		}
		if len(out) > limit {
			return nil, bodyTooLarge(limit)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unsupported Content-Encoding %q (use gzip or zstd)", errUnsupportedMedia, enc)
}

// compressResponse compresses a non-streaming reply body when the client accepts gzip or
// zstd; small bodies are not worth it.
func compressResponse(ctx *fasthttp.RequestCtx, body []byte) {
	const minSize = 1024
	if len(body) < minSize {
		ctx.Response.SetBody(body)
		return
	}
	accept := ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding)
	switch {
	case bytes.Contains(accept, []byte("zstd")):
		ctx.Response.SetBodyRaw(zstdEncoder.EncodeAll(body, nil))
		ctx.Response.Header.Set(fasthttp.HeaderContentEncoding, "zstd")
	case bytes.Contains(accept, []byte("gzip")):
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		zw.Write(body)
		zw.Close()
		gzipWriters.Put(zw)
		ctx.Response.SetBodyRaw(buf.Bytes())
		ctx.Response.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
	default:
		ctx.Response.SetBody(body)
		return
	}
	ctx.Response.Header.Add(fasthttp.HeaderVary, fasthttp.HeaderAcceptEncoding)
}
