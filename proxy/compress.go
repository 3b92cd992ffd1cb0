package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	brrr "github.com/molecule-man/go-brrr"
	"github.com/valyala/fasthttp"
)

// Request bodies may be compressed with gzip, deflate, br or zstd, and replies with gzip or
// zstd (klauspost/compress: faster than the standard library's gzip and the only maintained
// pure-Go zstd; go-brrr, which fasthttp already brings, for brotli). Decompression streams
// through a reader stopped at server.max_body_bytes, so a small compressed body cannot
// allocate more than the limit, whatever its encoding claims.

// maxZstdWindow bounds the history a zstd frame may ask the decoder to keep: zstd's levels
// use at most 8 MiB, only --long asks for more.
const maxZstdWindow = 16 << 20

var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	gzipWriters    = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	gzipReaders    sync.Pool
	flateReaders   sync.Pool
	brotliReaders  sync.Pool
	zstdReaders    sync.Pool
)

// requestBody returns the request body, decompressed when Content-Encoding says so.
func requestBody(ctx *fasthttp.RequestCtx, limit int) ([]byte, error) {
	body := ctx.PostBody()
	enc := ctx.Request.Header.ContentEncoding()
	if len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")) {
		return body, nil
	}
	src := bytes.NewReader(body)
	var (
		r       io.Reader
		release func()
		err     error
	)
	switch {
	case bytes.EqualFold(enc, []byte("gzip")):
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		r, release = zr, func() { gzipReaders.Put(zr) }
	case bytes.EqualFold(enc, []byte("deflate")):
		fr, _ := flateReaders.Get().(io.ReadCloser)
		if fr == nil {
			fr = flate.NewReader(src)
		} else {
			err = fr.(flate.Resetter).Reset(src, nil)
		}
		r, release = fr, func() { flateReaders.Put(fr) }
	case bytes.EqualFold(enc, []byte("br")):
		br, _ := brotliReaders.Get().(*brrr.Reader)
		if br == nil {
			br = brrr.NewReader(src)
		} else {
			br.Reset(src)
		}
		r, release = br, func() { brotliReaders.Put(br) }
	case bytes.EqualFold(enc, []byte("zstd")):
		zr, _ := zstdReaders.Get().(*zstd.Decoder)
		if zr == nil {
			zr, err = zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(uint64(limit)+1))
		} else {
			err = zr.Reset(src)
		}
		r, release = zr, func() { zstdReaders.Put(zr) }
	default:
		return nil, fmt.Errorf("%w: unsupported Content-Encoding %q (use gzip, deflate, br or zstd)", errUnsupportedMedia, enc)
	}
	if err != nil {
		return nil, invalid("%s body: %v", enc, err)
	}
	defer release()
	return readBounded(r, enc, limit)
}

// readBounded reads r to its end, failing as soon as it passes limit bytes.
func readBounded(r io.Reader, enc []byte, limit int) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if len(out) > limit || errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, bodyTooLarge(limit)
	}
	if err != nil {
		return nil, invalid("%s body: %v", enc, err)
	}
	return out, nil
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
