package proxy

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// Passed-through replies are read into pooled buffers that go back to the pool once the reply
// is written (Forwarded.Release). Concurrent calls whose replies differ in content and size
// must each get exactly their own reply, on the chat completions, Messages, embeddings
// (Embedded.Release) and Responses surfaces.
func TestPooledRepliesStayWithTheirCall(t *testing.T) {
	client, stop := benchAnthropicAndOpenAI(t, func(ctx *fasthttp.RequestCtx) {
		v, err := fastjson.ParseBytes(ctx.PostBody())
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadRequest)
			return
		}
		ctx.SetContentType("application/json")
		if bytes.HasSuffix(ctx.Path(), []byte("/embeddings")) {
			marker := string(v.GetStringBytes("user"))
			fmt.Fprintf(ctx, `{"object":"list","id":%q,"data":[{"object":"embedding","index":0,"embedding":[%s]}],"model":"gpt-embeddings-test","usage":{"prompt_tokens":3,"total_tokens":3}}`,
				marker, vectorFor(marker))
			return
		}
		if bytes.HasSuffix(ctx.Path(), []byte("/responses")) {
			marker := string(v.GetStringBytes("user"))
			fmt.Fprintf(ctx, `{"id":%q,"object":"response","created_at":1,"status":"completed","model":"gpt-4o-mini","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":%q,"annotations":[]}]}],"usage":{"input_tokens":12,"output_tokens":3,"total_tokens":15}}`,
				marker, padding(marker))
			return
		}
		if bytes.HasSuffix(ctx.Path(), []byte("/chat/completions")) {
			marker := string(v.GetStringBytes("user"))
			fmt.Fprintf(ctx, `{"id":%q,"object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`,
				marker, padding(marker))
			return
		}
		marker := string(v.GetStringBytes("metadata", "user_id"))
		fmt.Fprintf(ctx, `{"id":%q,"type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":%q}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3}}`,
			marker, padding(marker))
	})
	defer stop()

	concurrentCalls(t, client, 8, 150, func(req *fasthttp.Request, resp *fasthttp.Response, w, i int) error {
		marker := fmt.Sprintf("m-%d-%d", w, i)
		switch i % 4 {
		case 3:
			req.SetRequestURI("http://tracegate/v1/responses")
			req.SetBodyString(`{"model":"gpt-4o-mini","user":"` + marker + `","input":"hi"}`)
		case 0:
			req.SetRequestURI("http://tracegate/v1/chat/completions")
			req.SetBodyString(`{"model":"gpt-4o-mini","user":"` + marker + `","messages":[{"role":"user","content":"hi"}]}`)
		case 1:
			req.SetRequestURI("http://tracegate/v1/messages")
			req.SetBodyString(`{"model":"claude-3-5-haiku-20241022","max_tokens":16,"metadata":{"user_id":"` + marker + `"},"messages":[{"role":"user","content":"hi"}]}`)
		case 2:
			req.SetRequestURI("http://tracegate/v1/embeddings")
			req.SetBodyString(`{"model":"gpt-embeddings-test","user":"` + marker + `","input":"hi"}`)
		}
		if err := client.Do(req, resp); err != nil {
			return err
		}
		v, err := fastjson.ParseBytes(resp.Body())
		if resp.StatusCode() != fasthttp.StatusOK || err != nil {
			return fmt.Errorf("call %s: status %d, %v: %s", marker, resp.StatusCode(), err, resp.Body())
		}
		var text, want string
		switch i % 4 {
		case 3:
			text, want = string(v.GetStringBytes("output", "0", "content", "0", "text")), padding(marker)
		case 0:
			text, want = string(v.GetStringBytes("choices", "0", "message", "content")), padding(marker)
		case 1:
			text, want = string(v.GetStringBytes("content", "0", "text")), padding(marker)
		case 2:
			text, want = string(v.Get("data", "0", "embedding").MarshalTo(nil)), "["+vectorFor(marker)+"]"
		}
		if id := string(v.GetStringBytes("id")); id != marker || text != want {
			return fmt.Errorf("call %s got the reply of %q (%d bytes of text)", marker, id, len(text))
		}
		return nil
	})
}

// concurrentCalls runs calls calls on each of workers goroutines, each with its own pooled
// POST request (JSON) and response; call sets the request up for call i of worker w, makes
// it and checks the reply. A worker stops at its first error, which fails the test.
func concurrentCalls(t *testing.T, client *fasthttp.Client, workers, calls int, call func(req *fasthttp.Request, resp *fasthttp.Response, w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			for i := range calls {
				if err := call(req, resp, w, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// vectorFor is an embedding whose length, like padding's, depends on the marker.
func vectorFor(marker string) string {
	n := 1 + len(marker)*53%700
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", i%10)
	}
	return b.String()
}

// padding makes replies of many sizes, so that a reused buffer longer than its next reply
// would show its stale tail.
func padding(marker string) string {
	return strings.Repeat("x", len(marker)*37%900)
}

// A stream's relay encodes into a pooled buffer (relayBuffers) that goes back to the pool when
// the stream ends. Concurrent streams whose events differ in content and size (some past what
// the pool keeps) must each carry exactly their own events, in order.
func TestPooledRelayBuffersStayWithTheirStream(t *testing.T) {
	client, stop := benchAnthropicAndOpenAI(t, func(ctx *fasthttp.RequestCtx) {
		v, err := fastjson.ParseBytes(ctx.PostBody())
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusBadRequest)
			return
		}
		marker := string(v.GetStringBytes("user"))
		ctx.SetContentType("text/event-stream")
		for i := range 4 {
			fmt.Fprintf(ctx, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n",
				marker, streamPiece(marker, i))
		}
		fmt.Fprintf(ctx, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\ndata: [DONE]\n\n", marker)
	})
	defer stop()

	concurrentCalls(t, client, 6, 60, func(req *fasthttp.Request, resp *fasthttp.Response, w, i int) error {
		marker := fmt.Sprintf("s-%d-%d", w, i)
		req.SetRequestURI("http://tracegate/v1/chat/completions")
		req.SetBodyString(`{"model":"gpt-4o-mini","stream":true,"user":"` + marker + `","messages":[{"role":"user","content":"hi"}]}`)
		if err := client.Do(req, resp); err != nil {
			return err
		}
		if resp.StatusCode() != fasthttp.StatusOK {
			return fmt.Errorf("stream %s: status %d: %.200s", marker, resp.StatusCode(), resp.Body())
		}
		var text strings.Builder
		events, done := 0, false
		for _, line := range strings.Split(string(resp.Body()), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			if data == "[DONE]" {
				done = true
				continue
			}
			v, err := fastjson.Parse(data)
			if err != nil || string(v.GetStringBytes("id")) != marker {
				return fmt.Errorf("stream %s carried an event not its own: %.120s", marker, data)
			}
			events++
			text.Write(v.GetStringBytes("choices", "0", "delta", "content"))
		}
		want := ""
		for i := range 4 {
			want += streamPiece(marker, i)
		}
		if !done || events != 4 || text.String() != want { // the usage chunk, not asked for, is dropped
			return fmt.Errorf("stream %s: %d events, [DONE] %v, %d of %d bytes of text right", marker, events, done, len(text.String()), len(want))
		}
		return nil
	})
}

// streamPiece is the text of event i of a stream, of a size that depends on both, up to
// about 40 KB: past what relayBuffers keeps.
func streamPiece(marker string, i int) string {
	return strings.Repeat(string(rune('a'+i)), (len(marker)*131+i*977)%3000*(1+i*4))
}
