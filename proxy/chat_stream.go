package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/tracegate/tracegate/metrics"
	"io"
	"strings"
	"time"

	"github.com/tracegate/tracegate/llm"
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

// frameQueue is how many encoded frames may wait between the upstream reader and the client
// writer; a slow client pushes back on the upstream beyond it.
const frameQueue = 16

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

// streamTally is what the upstream reader learned, handed to the writer when the stream ends.
type streamTally struct {
	resp llm.Response
	err  error
}

// relayStream pumps the upstream stream to the client, then ends the spans and reports.
func (s *Server) relayStream(w *bufio.Writer, rt *Runtime, run *spans.Run, fs *provider.ForwardedStream, cancel context.CancelFunc, cs chatStream) {
	frames := make(chan []byte, frameQueue)
	tally := &streamTally{}
	go func() {
		defer close(frames)
		if fs.Raw != nil {
			tally.err = pumpRaw(fs.Raw, fs.Target.Backend.Name, cs.includeUsage, frames, &tally.resp)
		} else {
			tally.err = pumpEvents(fs.Events, "chatcmpl-"+strings.TrimPrefix(run.SpanID(), "sp_"), cs.includeUsage, frames, &tally.resp)
		}
	}()
	clientGone := writeFrames(w, frames, run.FirstChunk)
	if clientGone {
		cancel()
		for range frames { // let the reader finish; cancel makes that prompt
		}
	}
	cancel()
	fs.Close()

	err := tally.err
	if clientGone {
		err = context.Canceled
	}
	resp := &tally.resp
	if resp.Model == "" {
		resp.Model = fs.Target.Model
	}
	fs.Finish(resp, err)
	cost, priced := priceFor(rt, fs.Target, resp)
	sum := metrics.RequestSummary{Route: metrics.RouteChat, Stream: true, Status: fasthttp.StatusOK, Duration: time.Since(cs.start),
		Provider: fs.Target.Backend.Name, Model: resp.Model, Usage: resp.Usage, Cost: cost, Priced: priced}
	if err != nil {
		c := classify(err)
		sum.Code = c.Code
		run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced, Err: err, ErrorType: c.Code})
		s.logFailure("chat stream", cs.model, run, c, cs.start)
	} else {
		run.End(spans.RunEnd{Response: resp, Cost: cost, Priced: priced})
		s.logSuccess("chat stream", fs.Target.Backend.Name, resp, run, cost, priced, cs.start)
	}
	s.obs.RequestDone(sum)
}

// writeFrames writes frames as they arrive, flushing each, and probes an idle client. It
// reports whether the client went away.
// firstChunk is called once, when the first frame has reached the client.
func writeFrames(w *bufio.Writer, frames <-chan []byte, firstChunk func()) (clientGone bool) {
	probe := time.NewTicker(probeInterval)
	defer probe.Stop()
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return false
			}
			if _, err := w.Write(f); err != nil {
				return true
			}
			if err := w.Flush(); err != nil {
				return true
			}
			if firstChunk != nil {
				firstChunk()
				firstChunk = nil
			}
			probe.Reset(probeInterval)
		case <-probe.C:
			if _, err := w.Write(sseKeepAlive); err != nil {
				return true
			}
			if err := w.Flush(); err != nil {
				return true
			}
		}
	}
}

// pumpRaw relays an OpenAI-format stream chunk by chunk without re-encoding it. It reads each
// chunk's usage, and drops the extra usage chunk when the client did not ask for it.
func pumpRaw(src io.Reader, providerName string, includeUsage bool, frames chan<- []byte, resp *llm.Response) error {
	r := sse.NewReader(src)
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
			frames <- sseDone
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
		if ue := openai.ScanStreamError(data); ue != nil {
			ue.Provider = providerName
			frames <- frame(data)
			return ue
		}
		frames <- frame(data)
	}
}

// frame copies one SSE data payload into its own buffer: the reader reuses its buffer, and
// the frame crosses to the writer goroutine.
func frame(data []byte) []byte {
	f := make([]byte, 0, len(data)+8)
	f = append(f, "data: "...)
	f = append(f, data...)
	return append(f, '\n', '\n')
}

// pumpEvents encodes canonical events from a translated stream as OpenAI chunks, assembling
// the reply for spans as it goes.
// fallbackID names the chunks when the provider's stream carries no id of its own.
func pumpEvents(st *provider.Stream, fallbackID string, includeUsage bool, frames chan<- []byte, resp *llm.Response) error {
	enc := openai.NewChunkEncoder("", "", time.Now().Unix(), includeUsage)
	calls := map[int]*llm.ToolCall{}
	var order []int
	defer func() {
		for _, i := range order {
			resp.ToolCalls = append(resp.ToolCalls, *calls[i])
		}
	}()
	for {
		ev, err := st.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				frames <- enc.Finish(nil)
				return nil
			}
			var ue *llm.UpstreamError
			if errors.As(err, &ue) {
				frames <- openai.EncodeStreamError(nil, ue)
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
		if f := enc.Encode(nil, ev); len(f) > 0 {
			frames <- f
		}
	}
}
