package spans

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"unknown exporter":     {Exporter: "kafka"},
		"unknown protocol":     {Protocol: "udp"},
		"endpoint sans scheme": {Endpoint: "localhost:4318"},
		"endpoint bad scheme":  {Endpoint: "ftp://127.0.0.1:4318"},
		"endpoint no host":     {Endpoint: "http://"},
	} {
		if rec, err := New(context.Background(), o); err == nil {
			_ = rec.Shutdown(context.Background())
			t.Errorf("%s: New(%+v) accepted it", name, o)
		}
	}
}

// otlpHTTPCollector is a loopback OTLP/HTTP receiver that keeps what it was sent.
type otlpHTTPCollector struct {
	mu       sync.Mutex
	paths    []string
	headers  []http.Header
	bodies   [][]byte // decompressed
	requests []*coltracepb.ExportTraceServiceRequest
}

func (c *otlpHTTPCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.paths = append(c.paths, r.URL.Path)
	c.headers = append(c.headers, r.Header.Clone())
	c.bodies = append(c.bodies, raw)
	c.requests = append(c.requests, req)
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func exportedNames(reqs []*coltracepb.ExportTraceServiceRequest) (names []string, services []string) {
	for _, req := range reqs {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					services = append(services, kv.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	return names, services
}

func recordOneRun(t *testing.T, rec *Recorder) {
	t.Helper()
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run export", Slug: "export"})
	if err != nil {
		t.Fatal(err)
	}
	run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "mock-1"}).End(&llm.Response{ID: "r1"}, nil)
	run.End(RunEnd{})
}

func TestOTLPHTTPExport(t *testing.T) {
	cases := map[string]struct{ path, wantPath string }{
		"default path":  {"", "/v1/traces"},
		"root path":     {"/", "/v1/traces"},
		"explicit path": {"/otlp/v1/traces", "/otlp/v1/traces"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			col := &otlpHTTPCollector{}
			srv := httptest.NewServer(col)
			defer srv.Close()
			rec, err := New(context.Background(), Options{
				Endpoint:    srv.URL + tc.path,
				Headers:     map[string]string{"Authorization": "Bearer HDR-SECRET-7"},
				ServiceName: "svc-test",
			})
			if err != nil {
				t.Fatal(err)
			}
			recordOneRun(t, rec)
			if err := rec.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.requests) != 1 {
				t.Fatalf("collector got %d requests, want 1 batch", len(col.requests))
			}
			if col.paths[0] != tc.wantPath {
				t.Errorf("path %q, want %q", col.paths[0], tc.wantPath)
			}
			if got := col.headers[0].Get("Content-Encoding"); got != "gzip" {
				t.Errorf("Content-Encoding %q, want gzip", got)
			}
			if got := col.headers[0].Get("Authorization"); got != "Bearer HDR-SECRET-7" {
				t.Errorf("Authorization header %q, want the configured one", got)
			}
			if bytes.Contains(col.bodies[0], []byte("HDR-SECRET-7")) {
				t.Error("the export header's value is inside the exported spans")
			}
			names, services := exportedNames(col.requests)
			if strings.Join(names, ",") != "chat mock-1,run export" {
				t.Errorf("exported spans %v", names)
			}
			if len(services) != 1 || services[0] != "svc-test" {
				t.Errorf("service.name %v, want svc-test", services)
			}
			if rec.Exported() != 2 || rec.ExportErrors() != 0 {
				t.Errorf("Exported()=%d ExportErrors()=%d, want 2/0", rec.Exported(), rec.ExportErrors())
			}
		})
	}
}

func TestOTLPEnvironmentAppliesWithoutEndpoint(t *testing.T) {
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env-header=from-env")
	t.Setenv("OTEL_SERVICE_NAME", "env-service")
	rec, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	recordOneRun(t, rec)
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 1 || col.paths[0] != "/v1/traces" || col.headers[0].Get("x-env-header") != "from-env" {
		t.Fatalf("requests %d paths %v headers %v, want one to /v1/traces with the env header", len(col.requests), col.paths, col.headers)
	}
	if _, services := exportedNames(col.requests); len(services) != 1 || services[0] != "env-service" {
		t.Errorf("service.name %v, want OTEL_SERVICE_NAME's when Options.ServiceName is empty", services)
	}
}

type grpcCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	mu       sync.Mutex
	auth     []string
	requests []*coltracepb.ExportTraceServiceRequest
}

func (c *grpcCollector) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = append(c.auth, md.Get("authorization")...)
	c.requests = append(c.requests, req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func TestOTLPGRPCExport(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &grpcCollector{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	rec, err := New(context.Background(), Options{
		Protocol: ProtocolGRPC,
		Endpoint: "http://" + lis.Addr().String(),
		Headers:  map[string]string{"authorization": "Bearer GRPC-SECRET"},
	})
	if err != nil {
		t.Fatal(err)
	}
	recordOneRun(t, rec)
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	names, services := exportedNames(col.requests)
	if strings.Join(names, ",") != "chat mock-1,run export" || len(services) != 1 || services[0] != "tracegate" {
		t.Errorf("exported %v from %v, want both spans from service tracegate", names, services)
	}
	if len(col.auth) != 1 || col.auth[0] != "Bearer GRPC-SECRET" {
		t.Errorf("authorization metadata %v", col.auth)
	}
	if rec.Exported() != 2 {
		t.Errorf("Exported() = %d, want 2", rec.Exported())
	}
}

func TestStdoutExporter(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	rec, err := New(context.Background(), Options{Exporter: ExporterStdout})
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); out <- b }()
	recordOneRun(t, rec)
	if err := rec.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	w.Close()
	got := <-out
	if !bytes.Contains(got, []byte(`"Name":"run export"`)) || !bytes.Contains(got, []byte(`"Name":"chat mock-1"`)) {
		t.Errorf("stdout did not get both spans:\n%s", got)
	}
}

// A dead collector must cost nothing but counted failures: every run completes, no goroutines
// pile up, and Shutdown comes back inside its deadline.
func TestDeadCollectorNeverBlocksRuns(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + lis.Addr().String()
	lis.Close()

	before := runtime.NumGoroutine()
	rec, err := New(context.Background(), Options{Endpoint: deadURL})
	if err != nil {
		t.Fatal(err)
	}
	completed := 0
	for i := range 1000 {
		_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run dead", Slug: "dead", Tags: []string{"t"}})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		a := run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "gpt", ServerAddress: "127.0.0.1", ServerPort: 1})
		a.End(&llm.Response{ID: "r", Usage: llm.Usage{InputTokens: 1, OutputTokens: 1, Known: true}}, nil)
		run.End(RunEnd{Response: &llm.Response{}, Priced: true, Cost: 0.1})
		if _, err := ParseSpanID(run.SpanID()); err != nil {
			t.Fatalf("run %d: bad span id %q", i, run.SpanID())
		}
		completed++
	}
	if completed != 1000 {
		t.Fatalf("%d runs completed, want 1000", completed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := rec.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a dead collector: %v", err)
	}
	if rec.ExportErrors() == 0 || rec.Exported() != 0 {
		t.Errorf("ExportErrors()=%d Exported()=%d, want failures counted and nothing exported", rec.ExportErrors(), rec.Exported())
	}
	if rec.LastExportError() == nil {
		t.Error("LastExportError() = nil after failed exports")
	}
	// Goroutines wind down asynchronously (transport internals); give them a moment to exit.
	after := runtime.NumGoroutine()
	for i := 0; i < 100 && after > before+5; i++ {
		time.Sleep(20 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before+5 {
		t.Errorf("goroutines grew from %d to %d", before, after)
	}
}
