package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// relay is what the body of every streamed reply shares, whatever its wire format. fasthttp
// reads it after the handler returns and writes each Read as one chunk, flushed at once, from
// the connection's own goroutine: a chunk goes from the upstream socket to the client's
// without crossing a goroutine. fasthttp closes it when the response is done or the client
// write failed; CloseWithError then stops the upstream and accounts for the stream.
type relay struct {
	s      *Server
	rt     *Runtime
	run    *spans.Run
	fs     *provider.ForwardedStream
	cancel context.CancelFunc
	watch  *disconnectWatch
	sse    *sse.Reader // a passed-through stream; nil for a translated one
	// format is the surface's wire format: it encodes upstream events into out.
	format relayFormat
	acct   streamEnd // the stream's route, log label, model and start; the rest at its end

	out    []byte  // encoded bytes not yet handed to fasthttp
	outBox *[]byte // out's pool entry (relayBuffers), given back with out when the stream ends
	// bodyBox, when set, holds the request body the surface rewrote for the upstream; it goes
	// back to rewrittenBodies once the upstream call is closed, which is the last to read it.
	bodyBox  *[]byte
	off      int
	err      error // what ended the upstream stream, nil for a clean end
	ended    bool  // the upstream stream is over; Read returns io.EOF once out is drained
	sentSome bool
	closed   bool
	overhead time.Duration // tracegate's time up to the reply headers
}

// newRelay is the shared part of the relay for the open stream fs, accounted for as acct.
// watch has watched the client since before the stream was opened.
func (s *Server) newRelay(rt *Runtime, run *spans.Run, fs *provider.ForwardedStream, cancel context.CancelFunc, watch *disconnectWatch, acct streamEnd) relay {
	r := relay{s: s, rt: rt, run: run, fs: fs, cancel: cancel, watch: watch, acct: acct}
	r.outBox = relayBuffers.Get().(*[]byte)
	r.out = (*r.outBox)[:0]
	if fs.Raw != nil {
		r.sse = sse.NewReader(fs.Raw)
	}
	return r
}

// serveRelay makes r, whose format is set, the streamed response body. The relay outlives
// the handler; it keeps the connection (for the disconnect watch), never ctx.
func (s *Server) serveRelay(ctx *fasthttp.RequestCtx, r *relay, over *overheadClock) {
	if r.fs.Raw != nil {
		writeUpstreamHeaders(ctx, r.fs.Headers)
	}
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	r.overhead = over.stamp(&ctx.Response.Header)
	s.streamBody(ctx, r)
}

// relayFormat is a wire format's side of a relay.
type relayFormat interface {
	// nextRaw relays one event of a passed-through stream (sse), calling end or fail when
	// the stream is over.
	nextRaw()
	encode(ev llm.StreamEvent) // one canonical event of a translated stream (fs.Events)
	finish()                   // the terminal frames of a translated stream that ended cleanly
	// appendError appends the format's error event, so the client never takes a broken
	// stream for a finished one.
	appendError(err error)
	// reply is the assembled reply for the spans, the price and the log; err is what ended
	// the stream as the caller sees it.
	reply(err error) *llm.Response
}

func (r *relay) next() {
	if r.sse != nil {
		r.format.nextRaw()
		return
	}
	ev, err := r.fs.Events.Next()
	switch {
	case err == nil:
		r.format.encode(ev)
	case errors.Is(err, io.EOF):
		r.format.finish()
		r.end(nil)
	default:
		r.fail(err)
	}
}

// fail ends a stream that broke mid-way with the format's error event.
func (r *relay) fail(err error) {
	r.format.appendError(err)
	r.end(err)
}

// nextSSE reads the next event of a passed-through stream; one that ends before its
// terminal event reports llm.ErrStreamTruncated.
func (r *relay) nextSSE() (sse.Event, error) {
	ev, err := r.sse.Next()
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("%s: %w", r.fs.Target.Backend.Name, llm.ErrStreamTruncated)
	}
	return ev, err
}

// checkJSON refuses a passed-through event that is not JSON: it is not relayed, since a
// client's parser would fail on it with a less clear error than the one the stream ends with.
func (r *relay) checkJSON(data []byte) error {
	if err := fastjson.ValidateBytes(data); err != nil {
		return fmt.Errorf("%s stream event: %w: %w", r.fs.Target.Backend.Name, llm.ErrMalformedReply, err)
	}
	return nil
}

var (
	eventPrefix = []byte("event: ")
	dataLine    = []byte("\ndata: ")
)

// appendEvent relays a passed-through event as it came, named or not.
func (r *relay) appendEvent(ev sse.Event) {
	if len(ev.Name) > 0 {
		r.out = append(append(r.out, eventPrefix...), ev.Name...)
		r.out = append(append(r.out, dataLine...), ev.Data...)
	} else {
		r.out = append(append(r.out, dataPrefix...), ev.Data...)
	}
	r.out = append(r.out, frameEnd...)
}

// nextJSON reads the next event of a passed-through stream whose events are all JSON; when
// there is none, or it is not JSON, it fails the stream and returns false.
func (r *relay) nextJSON() (sse.Event, bool) {
	ev, err := r.nextSSE()
	if err == nil {
		err = r.checkJSON(ev.Data)
	}
	if err != nil {
		r.fail(err)
		return sse.Event{}, false
	}
	return ev, true
}

// Read hands fasthttp the next encoded frames, reading the upstream as needed.
func (r *relay) Read(p []byte) (int, error) {
	for r.off >= len(r.out) {
		if r.ended {
			return 0, io.EOF
		}
		r.out, r.off = r.out[:0], 0
		r.next()
		// Passed-through events that arrived together go out in one chunk and one flush,
		// except the first, which goes out alone: the time to the first byte is what a
		// client waits on, and the events behind it would only delay it.
		for r.sse != nil && r.sentSome && !r.ended && len(r.out) < coalesceLimit && r.sse.HasBufferedEvent() {
			r.next()
		}
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	if !r.sentSome {
		r.sentSome = true
		r.run.FirstChunk()
	}
	return n, nil
}

func (r *relay) end(err error) { r.ended, r.err = true, err }

// Close is part of io.Closer for fasthttp; the work is in CloseWithError, which it calls
// right after with the write error.
func (r *relay) Close() error { return nil }

// CloseWithError ends the stream: it stops the upstream, ends the attempt and run spans,
// prices the reply, logs and reports. writeErr is fasthttp's error writing to the client.
func (r *relay) CloseWithError(writeErr error) error {
	first, err := r.stopUpstream(writeErr)
	if !first {
		return nil
	}
	e := r.acct
	e.overhead, e.resp, e.err = r.overhead, r.format.reply(err), err
	r.s.endStream(r.rt, r.run, r.fs, e)
	// fasthttp reads no more once it has closed the body, and nothing else holds out.
	giveBack(&relayBuffers, r.outBox, r.out, maxRelayBuffer)
	if r.bodyBox != nil {
		giveBack(&rewrittenBodies, r.bodyBox, *r.bodyBox, maxPooledBody)
	}
	r.out, r.off, r.outBox, r.bodyBox = nil, 0, nil, nil
	return nil
}

// relayBuffers keeps the relays' output buffers between streams: grown from nil, a stream's
// buffer cost two or three allocations as its first events arrived.
var relayBuffers = sync.Pool{New: func() any { b := make([]byte, 0, relayBufferSize); return &b }}

// giveBack returns b to pool in its entry box, unless it grew past limit: such a buffer is
// left to the garbage collector rather than held.
func giveBack(pool *sync.Pool, box *[]byte, b []byte, limit int) {
	if box == nil || cap(b) > limit {
		return
	}
	*box = b[:0]
	pool.Put(box)
}

// rewrittenBodies keeps the buffers of request bodies a surface rewrites for the upstream (a
// stream's stream_options), for the stream's lifetime: the upstream call reads the body.
var rewrittenBodies = sync.Pool{New: func() any { return new([]byte) }}

// relayBufferSize fits a few events of any format; maxRelayBuffer is what the pool keeps:
// a buffer a burst of events grew past it (coalesceLimit and the event behind it) is left
// to the garbage collector rather than held.
const (
	relayBufferSize = 4 << 10
	maxRelayBuffer  = 2*coalesceLimit + relayBufferSize
	// maxPooledBody is the largest rewritten request body kept: a coding agent's turn is
	// tens of KB, and one rare 8 MB body must not stay in the pool.
	maxPooledBody = 256 << 10
)

// stopUpstream ends the upstream side once: a finished stream's end is read so its connection
// is reused (bounded by the exchange, in case the provider does not close the response), an unfinished one is
// dropped, which ends the request there too. It returns what ended the stream as the caller
// sees it (context.Canceled when the client went away mid-stream); first is false when the
// relay was already closed. writeErr is fasthttp's error writing to the client.
func (r *relay) stopUpstream(writeErr error) (first bool, err error) {
	if r.closed {
		return false, nil
	}
	r.closed = true
	r.watch.stop()
	if r.ended && r.err == nil && writeErr == nil && !r.watch.clientGone() {
		r.fs.Close() // the exchange bounds its own drain, in bytes and time (provider.maxDrainWait)
		r.cancel()
	} else {
		r.cancel()
		r.fs.Close()
	}
	if r.sse != nil {
		r.sse.Release()
		r.sse = nil
	}
	if writeErr != nil || r.watch.clientGone() || !r.ended {
		return true, context.Canceled // the client went away (or the server stopped) mid-stream
	}
	return true, r.err
}
