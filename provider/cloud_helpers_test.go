package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
)

// cloudRequest is one request a cloud fake received, whole.
type cloudRequest struct {
	Method string
	URI    string // path and query as sent
	Header http.Header
	Body   []byte
	// Problem is what the fake's check found wrong with the request, "" when it passed.
	Problem string
}

// cloudFake is a provider on loopback: check inspects each request (signature, auth, path)
// and reply answers it.
type cloudFake struct {
	*httptest.Server
	mu  sync.Mutex
	got []cloudRequest
}

func newCloudFake(t *testing.T, check func(r *http.Request, body []byte) string, reply func(w http.ResponseWriter, n int, body []byte)) *cloudFake {
	t.Helper()
	f := &cloudFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cr := cloudRequest{Method: r.Method, URI: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
		if check != nil {
			cr.Problem = check(r, body)
		}
		f.mu.Lock()
		f.got = append(f.got, cr)
		n := len(f.got)
		f.mu.Unlock()
		if cr.Problem != "" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"fake: `+cr.Problem+`"}`)
			return
		}
		reply(w, n, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *cloudFake) requests() []cloudRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cloudRequest(nil), f.got...)
}

// replyWith answers every request with status, content type and body.
func replyWith(status int, contentType, body string, header ...string) func(http.ResponseWriter, int, []byte) {
	return func(w http.ResponseWriter, _ int, _ []byte) {
		w.Header().Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// cloudDispatcher routes every model to the single provider p, retrying up to three times and
// recording the waits instead of sleeping.
func cloudDispatcher(t *testing.T, p config.Provider) (*Dispatcher, *[]time.Duration) {
	t.Helper()
	if p.Timeout == 0 {
		p.Timeout = config.Duration(5 * time.Second)
	}
	r, err := NewRouter([]config.Provider{p}, []config.Route{{Match: "*", Provider: p.Name}})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(r, RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Second}, nil)
	var waits []time.Duration
	d.sleep = func(ctx context.Context, w time.Duration) error { waits = append(waits, w); return ctx.Err() }
	return d, &waits
}

// drain reads a stream to its end and assembles the text, the finish and the last usage.
func drain(t *testing.T, s *Stream) (text string, finish llm.FinishReason, raw string, usage llm.Usage, calls []llm.ToolCall) {
	t.Helper()
	defer s.Close()
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		switch ev.Type {
		case llm.EventText:
			text += ev.Text
		case llm.EventFinish:
			finish, raw = ev.FinishReason, ev.RawFinishReason
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventToolCallStart:
			calls = append(calls, llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName})
		case llm.EventToolCallDelta:
			calls[ev.ToolIndex].Arguments = append(calls[ev.ToolIndex].Arguments, ev.Text...)
		}
	}
}
