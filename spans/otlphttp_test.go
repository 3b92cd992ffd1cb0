package spans

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNewPicksFastHTTPExporter(t *testing.T) {
	const ep = "http://127.0.0.1:4318"
	cases := []struct {
		name string
		o    Options
		env  map[string]string
		fast bool
	}{
		{"endpoint", Options{Endpoint: ep}, nil, true},
		{"endpoint, explicit http", Options{Endpoint: ep, Protocol: ProtocolHTTP}, nil, true},
		{"endpoint, env endpoint", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"}, true},
		{"no endpoint", Options{}, nil, false},
		{"env endpoint only", Options{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:1"}, false},
		{"grpc", Options{Endpoint: ep, Protocol: ProtocolGRPC}, nil, false},
		{"env compression", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, false},
		{"env protocol", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, false},
		{"env certificate", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent.pem"}, false},
		{"env client key", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": "/k.pem"}, false},
		{"env headers", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=b"}, false},
		{"env timeout", Options{Endpoint: ep}, map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "1000"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			exp, err := newExporter(context.Background(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Shutdown(context.Background())
			if _, fast := exp.(*fastHTTPExporter); fast != tc.fast {
				t.Errorf("fast exporter %v, want %v (%T)", fast, tc.fast, exp)
			}
		})
	}
}

func TestFastExporterRequest(t *testing.T) {
	spans := recordVariety(t)
	for _, tc := range []struct{ path, want string }{{"", "/v1/traces"}, {"/", "/v1/traces"}, {"/custom/traces", "/custom/traces"}} {
		col := &otlpHTTPCollector{}
		var raw []http.Header
		var mu sync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			raw = append(raw, r.Header.Clone())
			mu.Unlock()
			col.ServeHTTP(w, r)
		}))
		exp := newFastHTTPExporter(mustURL(t, srv.URL+tc.path), map[string]string{"Authorization": "Bearer X", "x-tenant": "t1"})
		for range 3 { // buffers are reused between exports
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatal(err)
			}
		}
		_ = exp.Shutdown(context.Background())
		srv.Close()
		if len(col.requests) != 3 {
			t.Fatalf("%d requests", len(col.requests))
		}
		for i, h := range raw {
			if col.paths[i] != tc.want {
				t.Errorf("path %q, want %q", col.paths[i], tc.want)
			}
			if h.Get("Content-Encoding") != "gzip" || h.Get("Content-Type") != "application/x-protobuf" {
				t.Errorf("headers %v", h)
			}
			if h.Get("Authorization") != "Bearer X" || h.Get("X-Tenant") != "t1" {
				t.Errorf("configured headers missing: %v", h)
			}
			if !proto.Equal(col.requests[0], col.requests[i]) {
				t.Errorf("request %d differs from the first", i)
			}
		}
	}
}

func TestFastExporterRetries(t *testing.T) {
	spans := recordVariety(t)[:2]
	var calls atomic.Int32
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			col.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
	defer exp.Shutdown(context.Background())
	start := time.Now()
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("export after 503 and 429: %v", err)
	}
	if d := time.Since(start); d < retryInitial+time.Second {
		t.Errorf("returned after %v: backoff and Retry-After not honoured", d)
	}
	if calls.Load() != 3 || len(col.requests) != 1 {
		t.Errorf("%d calls, %d accepted", calls.Load(), len(col.requests))
	}
}

func TestFastExporterGivesUp(t *testing.T) {
	spans := recordVariety(t)[:2]
	t.Run("not retryable", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, "bad payload", http.StatusBadRequest)
		}))
		defer srv.Close()
		exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
		defer exp.Shutdown(context.Background())
		err := exp.ExportSpans(context.Background(), spans)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "bad payload") || calls.Load() != 1 {
			t.Errorf("err %v after %d calls", err, calls.Load())
		}
	})
	t.Run("retry after past the deadline", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "later", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
		defer exp.Shutdown(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), exportCallTimeout)
		defer cancel()
		start := time.Now()
		if err := exp.ExportSpans(ctx, spans); err == nil || time.Since(start) > time.Second {
			t.Errorf("err %v after %v, want a quick error", err, time.Since(start))
		}
	})
	t.Run("always unavailable", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusBadGateway)
		}))
		defer srv.Close()
		exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
		defer exp.Shutdown(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := exp.ExportSpans(ctx, spans); err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("err %v after %v, want an error within the context", err, time.Since(start))
		}
	})
	t.Run("dead collector", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		exp := newFastHTTPExporter(mustURL(t, "http://"+addr), nil)
		defer exp.Shutdown(context.Background())
		start := time.Now()
		if err := exp.ExportSpans(context.Background(), spans); err == nil || time.Since(start) > time.Second {
			t.Errorf("err %v after %v, want a quick error", err, time.Since(start))
		}
	})
}

// Failures reach the Recorder's counters through countingExporter.
func TestFastExporterFailuresCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer srv.Close()
	rec, err := New(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	recordOneRun(t, rec)
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.ExportErrors() != 1 || rec.Exported() != 0 || rec.LastExportError() == nil || !strings.Contains(rec.LastExportError().Error(), "403") {
		t.Errorf("ExportErrors()=%d Exported()=%d LastExportError()=%v", rec.ExportErrors(), rec.Exported(), rec.LastExportError())
	}
}

// A collector that never answers holds neither Shutdown nor the export past their contexts.
func TestFastExporterShutdownBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
	spans := recordVariety(t)[:2]
	done := make(chan error, 1)
	go func() { done <- exp.ExportSpans(context.Background(), spans) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = exp.Shutdown(ctx)
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("Shutdown took %v", d)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("in-flight export succeeded after Shutdown")
		}
	case <-time.After(time.Second):
		t.Fatal("in-flight export still running a second after Shutdown")
	}
	if err := exp.ExportSpans(context.Background(), spans); err == nil {
		t.Error("export after Shutdown succeeded")
	}

	// Through the Recorder: Shutdown returns at its deadline.
	rec, err := New(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	recordOneRun(t, rec)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	start = time.Now()
	_ = rec.Shutdown(ctx2)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Recorder.Shutdown took %v with a hanging collector", d)
	}
}

// Concurrent exports (not what the queue does, but allowed) stay correct.
func TestFastExporterConcurrent(t *testing.T) {
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp := newFastHTTPExporter(mustURL(t, srv.URL), nil)
	defer exp.Shutdown(context.Background())
	spans := recordVariety(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if err := exp.ExportSpans(context.Background(), spans); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 40 {
		t.Fatalf("%d requests, want 40", len(col.requests))
	}
	for _, r := range col.requests[1:] {
		if !proto.Equal(col.requests[0], r) {
			t.Fatal("requests differ")
		}
	}
}
