package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/translate/openai"
	"github.com/tracegate/tracegate/translate/sse"
	"github.com/valyala/fasthttp"
)

// probeInterval is how often an idle stream writes an SSE comment. fasthttp tells a handler
// nothing when its client goes away; a write that fails does, so a client that disconnects
// while the provider is silent is noticed within this interval and the upstream cancelled.
const probeInterval = 500 * time.Millisecond

var (
	sseDone      = []byte("data: [DONE]\n\n")
	sseKeepAlive = []byte(": keep-alive\n\n")
)

type chatStream struct {
	model        string
	body         []byte
	includeUsage bool
	decode       provider.RequestDecoder
	start        time.Time
}

// startChatStream opens the upstream stream and, once it is open, hands the relay to
// fasthttp's body stream writer. Failures before the first byte get a normal error reply.
// It reports whether the stream was started (the writer then reports the request).
func (s *Server) startChatStream(ctx *fasthttp.RequestCtx, rt *Runtime, run *spans.Run, runCtx context.Context, cs chatStream) bool {
	upstreamBody := cs.body
	if !cs.includeUsage {
		upstreamBody = openai.WithIncludeUsage(nil, cs.body)
	}
	streamCtx, cancel := context.WithCancel(runCtx)
	fs, err := rt.Dispatcher.ForwardStream(streamCtx, cs.model, upstreamBody, cs.decode, s.attemptObserver(run, nil))
	if err != nil {
		cancel()
		c := writeOpenAIError(ctx, err)
		run.End(spans.RunEnd{Err: err, ErrorType: c.Code})
		s.logFailure("chat", cs.model, run, c, cs.start)
		s.obs.RequestDone(metrics.RequestSummary{Route: metrics.RouteChat, Stream: true, Status: c.Status, Code: c.Code, Duration: time.Since(cs.start)})
		return true
	}
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	// The writer runs after this handler returns: it must use only what is captured here,
	// never ctx.
	s.streamBody(ctx, func(w *bufio.Writer) {
		s.relayStream(w, rt, run, fs, cancel, cs)
	})
	return true
}

// relayStream pumps the upstream stream to the client, then ends the spans and reports.
func (s *Server) relayStream(w *bufio.Writer, rt *Runtime, run *spans.Run, fs *provider.ForwardedStream, cancel context.CancelFunc, cs chatStream) {
	cw := &clientWriter{w: w, firstChunk: run.FirstChunk}
	stopWatch := cw.watch(cancel)
	var resp llm.Response
	var err error
	if fs.Raw != nil {
		err = pumpRaw(fs.Raw, fs.Target.Backend.Name, cs.includeUsage, cw, &resp)
	} else {
		err = pumpEvents(fs.Events, "chatcmpl-"+strings.TrimPrefix(run.SpanID(), "sp_"), cs.includeUsage, cw, &resp)
	}
	stopWatch()
	cancel()
	fs.Close()
	if cw.gone() {
		err = context.Canceled
	}
	if resp.Model == "" {
		resp.Model = fs.Target.Model
	}
	fs.Finish(&resp, err)
	cost, priced := priceFor(rt, fs.Target, &resp)
	sum := metrics.RequestSummary{Route: metrics.RouteChat, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(cs.start),
		Provider: fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if err != nil {
		c := classify(err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Response: &resp, Cost: cost, Priced: priced, Err: err, ErrorType: c.Code})
		s.logFailure("chat stream", cs.model, run, c, cs.start)
	} else {
		run.End(spans.RunEnd{Response: &resp, Cost: cost, Priced: priced})
		s.logSuccess("chat stream", fs.Target.Backend.Name, &resp, run, cost, priced, cs.start)
	}
	s.obs.RequestDone(sum)
}

// errClientGone ends a pump whose client can no longer be written to.
var errClientGone = errors.New("client went away")

// clientWriter writes SSE frames to the client, flushing each one. The relay writes from the
// goroutine that reads the upstream, so a chunk crosses no extra goroutine; a watcher
// goroutine writes keep-alive comments when the stream is idle, under the same lock.
type clientWriter struct {
	mu         sync.Mutex
	w          *bufio.Writer
	failed     bool
	lastWrite  atomic.Int64 // unix nanoseconds
	firstChunk func()       // called once, after the first frame reached the client
}

// write writes the parts as one frame and flushes; false when the client is gone.
func (c *clientWriter) write(parts ...[]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return false
	}
	for _, p := range parts {
		if _, err := c.w.Write(p); err != nil {
			c.failed = true
			return false
		}
	}
	if err := c.w.Flush(); err != nil {
		c.failed = true
		return false
	}
	c.lastWrite.Store(time.Now().UnixNano())
	if c.firstChunk != nil {
		c.firstChunk()
		c.firstChunk = nil
	}
	return true
}

func (c *clientWriter) gone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// watch probes the client whenever the stream has been idle for probeInterval and calls
// cancel when the client is gone, which ends the upstream read. The returned func stops it.
func (c *clientWriter) watch(cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	c.lastWrite.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(probeInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if now.UnixNano()-c.lastWrite.Load() < int64(probeInterval) {
					continue
				}
				c.mu.Lock()
				_, err := c.w.Write(sseKeepAlive)
				if err == nil {
					err = c.w.Flush()
				}
				if err != nil {
					c.failed = true
				}
				c.mu.Unlock()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

var (
	dataPrefix = []byte("data: ")
	frameEnd   = []byte("\n\n")
)

// pumpRaw relays an OpenAI-format stream chunk by chunk without re-encoding it. It reads each
// chunk's usage, and drops the extra usage chunk when the client did not ask for it.
func pumpRaw(src io.Reader, providerName string, includeUsage bool, cw *clientWriter, resp *llm.Response) error {
	r := sse.NewReader(src)
	defer r.Release()
	for {
		ev, err := r.Next()
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return llm.ErrStreamTruncated
			}
			return err
		}
		data := ev.Data
		if bytes.Equal(data, []byte("[DONE]")) {
			if !cw.write(sseDone) {
				return errClientGone
			}
			return nil
		}
		if resp.Model == "" {
			resp.Model = openai.ScanModel(data)
		}
		usage, hasUsage, usageOnly := openai.ScanChunk(data)
		if hasUsage {
			resp.Usage = usage
		}
		if usageOnly && !includeUsage {
			continue
		}
		if !cw.write(dataPrefix, data, frameEnd) {
			return errClientGone
		}
		if ue := openai.ScanStreamError(data); ue != nil {
			ue.Provider = providerName
			return ue
		}
	}
}

// pumpEvents encodes canonical events from a translated stream as OpenAI chunks, assembling
// the reply for spans as it goes.
// fallbackID names the chunks when the provider's stream carries no id of its own.
func pumpEvents(st *provider.Stream, fallbackID string, includeUsage bool, cw *clientWriter, resp *llm.Response) error {
	enc := openai.NewChunkEncoder("", "", time.Now().Unix(), includeUsage)
	calls := map[int]*llm.ToolCall{}
	var order []int
	var buf []byte
	defer func() {
		for _, i := range order {
			resp.ToolCalls = append(resp.ToolCalls, *calls[i])
		}
	}()
	for {
		ev, err := st.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !cw.write(enc.Finish(buf[:0])) {
					return errClientGone
				}
				return nil
			}
			var ue *llm.UpstreamError
			if errors.As(err, &ue) {
				cw.write(openai.EncodeStreamError(buf[:0], ue))
			}
			return err
		}
		switch ev.Type {
		case llm.EventStart:
			if ev.ID == "" {
				ev.ID = fallbackID
			}
			resp.ID, resp.Model = ev.ID, ev.Model
		case llm.EventText:
			resp.Text += ev.Text
			resp.HasText = true
		case llm.EventToolCallStart:
			calls[ev.ToolIndex] = &llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName}
			order = append(order, ev.ToolIndex)
		case llm.EventToolCallDelta:
			if c := calls[ev.ToolIndex]; c != nil {
				c.Arguments = append(c.Arguments, ev.Text...)
			}
		case llm.EventFinish:
			resp.FinishReason, resp.RawFinishReason = ev.FinishReason, ev.RawFinishReason
		case llm.EventUsage:
			resp.Usage = ev.Usage
		}
		if buf = enc.Encode(buf[:0], ev); len(buf) > 0 && !cw.write(buf) {
			return errClientGone
		}
	}
}
