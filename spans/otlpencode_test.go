package spans

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// spanCapture keeps the read-only spans themselves, for feeding to exporters.
type spanCapture struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (c *spanCapture) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, spans...)
	return nil
}

func (*spanCapture) Shutdown(context.Context) error { return nil }

func (c *spanCapture) Spans() []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), c.spans...)
}

// recordVariety records runs and attempts through the real Recorder (content capture on,
// errors, retries, linked and unsampled parents) plus spans of another scope with events,
// links, trace state, every attribute type and an OK status.
func recordVariety(t testing.TB) []sdktrace.ReadOnlySpan {
	t.Helper()
	capture := &spanCapture{}
	rec := NewWithExporter(capture, Options{CaptureContent: true, ServiceName: "svc-compare"}, true)
	defer func() { _ = rec.Shutdown(context.Background()) }()

	req := &llm.Request{
		Model: "gpt-4o-mini",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Parts: []llm.Part{llm.TextPart("be brief")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("héllo, ✓ unicode and a long text " + string(make([]byte, 300)))}},
		},
		Temperature: ptr(0.7), TopP: ptr(0.9), MaxTokens: 400, Stop: []string{"END", "STOP"}, Stream: true,
	}
	resp := &llm.Response{
		ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", Text: "Dear Alice", HasText: true,
		FinishReason: llm.FinishStop, RawFinishReason: "stop",
		Usage: llm.Usage{InputTokens: 120, OutputTokens: 85, CacheReadTokens: 100, CacheWriteTokens: 10, ReasoningTokens: 3, Known: true},
	}
	starts := []RunStart{
		{Name: "run welcome-email", Slug: "welcome-email", Version: 2, Model: "gpt-4o-mini",
			Tags: []string{"onboarding", "email", ""}, UserID: "user-1", SessionID: "sess-9",
			Variables: map[string]string{"product": "Widget", "name": "Alice"}},
		{Name: "run linked", Slug: "linked", Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{Name: "run body ids", TraceID: "tr_0af7651916cd43dd8448eb211c80319d", ParentSpanID: "sp_6f1c0b9a2d4e8f10"},
		{Name: "run unsampled", Traceparent: "00-0af7651916cd43dd8448eb211c80319e-b7ad6b7169203332-00"},
		{Name: "chat plain"},
	}
	for i, s := range starts {
		_, run, err := rec.StartRun(context.Background(), s)
		if err != nil {
			t.Fatalf("StartRun %q: %v", s.Name, err)
		}
		a := run.StartAttempt(AttemptStart{ProviderName: "openai", ProviderKind: "openai", Model: "gpt-4o-mini",
			ServerAddress: "api.openai.com", ServerPort: 443, Request: req, Stream: true})
		a.FirstChunk()
		if i%2 == 0 {
			a.End(nil, &llm.UpstreamError{Provider: "openai", Status: 429, Type: "rate_limit_error", Message: "slow down"})
			a = run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "mock-1"})
		}
		if i == 4 {
			a.End(nil, errors.New("boom"))
			run.End(RunEnd{Err: errors.New("boom")})
			continue
		}
		a.End(resp, nil)
		run.End(RunEnd{Response: resp, Cost: 0.000123, Priced: true})
	}

	// A second scope with what tracegate's own spans do not use.
	tr := rec.TracerProvider().Tracer("other/scope", trace.WithInstrumentationVersion("1.2.3"),
		trace.WithInstrumentationAttributes(attribute.String("scope.attr", "x")))
	ts, err := trace.ParseTraceState("vendor=abc,other=1")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: [16]byte{1, 2, 3}, SpanID: [8]byte{4, 5, 6}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{9}, SpanID: [8]byte{8}, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	_, sp := tr.Start(ctx, "", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.Int("link.n", -3)}}),
		trace.WithTimestamp(time.Unix(0, 0)))
	sp.SetAttributes(allAttributeTypes()...)
	sp.AddEvent("ev one", trace.WithAttributes(attribute.Bool("ev.b", false), attribute.Float64("ev.f", 0)))
	sp.AddEvent("")
	sp.SetStatus(codes.Ok, "")
	sp.End()
	_, sp = tr.Start(context.Background(), "internal", trace.WithSpanKind(trace.SpanKindInternal))
	sp.RecordError(errors.New("kaput"))
	sp.SetStatus(codes.Error, "kaput")
	sp.End()
	_, sp = tr.Start(context.Background(), "consumer", trace.WithSpanKind(trace.SpanKindConsumer))
	sp.End()
	return capture.Spans()
}

func allAttributeTypes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("s", "v"), attribute.String("s.empty", ""),
		attribute.Bool("b.t", true), attribute.Bool("b.f", false),
		attribute.Int64("i.0", 0), attribute.Int64("i.neg", -1), attribute.Int64("i.max", math.MaxInt64), attribute.Int64("i.min", math.MinInt64),
		attribute.Float64("f.0", 0), attribute.Float64("f.pi", math.Pi), attribute.Float64("f.inf", math.Inf(-1)),
		attribute.StringSlice("ss", []string{"a", "", "ccc"}), attribute.StringSlice("ss.empty", nil),
		attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{0, -5, 1 << 40}),
		attribute.Float64Slice("fs", []float64{0, 1.5, -2}),
		{Key: "empty"},
	}
}

// sdkRequest is what the SDK's own OTLP/HTTP exporter sends for spans.
func sdkRequest(t *testing.T, spans []sdktrace.ReadOnlySpan) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("SDK export: %v", err)
	}
	_ = exp.Shutdown(context.Background())
	return onlyRequest(t, col)
}

// fastRequest is what fastHTTPExporter sends for spans.
func fastRequest(t *testing.T, spans []sdktrace.ReadOnlySpan) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	col := &otlpHTTPCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	exp := newFastHTTPExporter(u, nil)
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("fast export: %v", err)
	}
	_ = exp.Shutdown(context.Background())
	return onlyRequest(t, col)
}

func onlyRequest(t *testing.T, col *otlpHTTPCollector) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(col.requests))
	}
	return col.requests[0]
}

func TestFastExporterMatchesSDK(t *testing.T) {
	spans := recordVariety(t)
	names := map[string]bool{}
	for _, s := range spans {
		names[s.Name()] = true
	}
	if names["run unsampled"] || !names["run welcome-email"] || !names[""] || len(spans) < 12 {
		t.Fatalf("recorded spans %v", names)
	}
	want := sdkRequest(t, spans)
	got := fastRequest(t, spans)
	if !proto.Equal(want, got) {
		t.Fatalf("fast exporter's request differs from the SDK's:\n%s", protoDiff(want, got))
	}
	var n int
	for _, rs := range got.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	if n != len(spans) || len(got.ResourceSpans) != 1 || len(got.ResourceSpans[0].ScopeSpans) != 2 {
		t.Errorf("%d spans in %d resource spans, want %d in one resource with two scopes", n, len(got.ResourceSpans), len(spans))
	}
	// The encoder alone, byte for byte against proto.Marshal of the decoded message is not
	// required (field order may differ), but decoding it must give the same message.
	var enc otlpEncoder
	var direct coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(enc.encode(spans), &direct); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(want, &direct) {
		t.Fatal("encoder output differs from the SDK's")
	}
}

func protoDiff(want, got proto.Message) string {
	return "want: " + prototext.Format(want) + "\n got: " + prototext.Format(got)
}

// Several resources: grouped by resource, then scope, in order of first appearance.
func TestEncodeGroupsResourcesAndScopes(t *testing.T) {
	resA := resource.NewSchemaless(attribute.String("service.name", "a"))
	resB := resource.NewWithAttributes("https://schema/b", attribute.String("service.name", "b"))
	resA2 := resource.NewSchemaless(attribute.String("service.name", "a")) // equivalent to resA
	scope1 := instrumentation.Scope{Name: "one", SchemaURL: "https://schema/1"}
	scope2 := instrumentation.Scope{Name: "two", Version: "2"}
	stub := func(name string, res *resource.Resource, scope instrumentation.Scope) tracetest.SpanStub {
		return tracetest.SpanStub{
			Name: name, Resource: res, InstrumentationScope: scope,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{2}}),
		}
	}
	spans := tracetest.SpanStubs{
		stub("a1", resA, scope1), stub("b1", resB, scope1), stub("a2", resA2, scope2),
		stub("a3", resA, scope1), stub("b2", resB, instrumentation.Scope{}),
	}.Snapshots()
	var enc otlpEncoder
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(enc.encode(append(spans, nil)), &got); err != nil {
		t.Fatal(err)
	}
	var layout []string
	for _, rs := range got.ResourceSpans {
		layout = append(layout, "R:"+rs.Resource.Attributes[0].Value.GetStringValue()+":"+rs.SchemaUrl)
		for _, ss := range rs.ScopeSpans {
			layout = append(layout, "S:"+ss.Scope.GetName()+":"+ss.Scope.GetVersion()+":"+ss.SchemaUrl)
			for _, s := range ss.Spans {
				layout = append(layout, s.Name)
			}
		}
	}
	want := []string{
		"R:a:", "S:one::https://schema/1", "a1", "a3", "S:two:2:", "a2",
		"R:b:https://schema/b", "S:one::https://schema/1", "b1", "S:::", "b2",
	}
	if len(layout) != len(want) {
		t.Fatalf("layout %v, want %v", layout, want)
	}
	for i := range want {
		if layout[i] != want[i] {
			t.Fatalf("layout %v, want %v", layout, want)
		}
	}
	// The SDK, for the same spans, sends the same resource spans (its order is a map's).
	sdk := sdkRequest(t, spans)
	sort.Slice(sdk.ResourceSpans, func(i, j int) bool { return sdk.ResourceSpans[i].SchemaUrl < sdk.ResourceSpans[j].SchemaUrl })
	if !proto.Equal(sdk, &got) {
		t.Errorf("grouping differs from the SDK's:\n%s", protoDiff(sdk, &got))
	}
}

// Random attribute values of every type survive encoding and decoding.
func TestEncodeRandomAttributesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randString := func() string {
		n := rng.IntN(300)
		if rng.IntN(4) == 0 {
			n = rng.IntN(40000) // lengths needing 3-byte varints
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(' ' + rng.IntN(95))
		}
		return string(b)
	}
	var enc otlpEncoder
	for iter := range 200 {
		var attrs []attribute.KeyValue
		for range rng.IntN(40) {
			key := attribute.Key(randString())
			var v attribute.Value
			switch rng.IntN(8) {
			case 0:
				v = attribute.StringValue(randString())
			case 1:
				v = attribute.BoolValue(rng.IntN(2) == 1)
			case 2:
				v = attribute.Int64Value(int64(rng.Uint64()))
			case 3:
				v = attribute.Float64Value(math.Float64frombits(rng.Uint64()))
			case 4:
				s := make([]string, rng.IntN(20))
				for j := range s {
					s[j] = randString()
				}
				v = attribute.StringSliceValue(s)
			case 5:
				s := make([]int64, rng.IntN(300))
				for j := range s {
					s[j] = int64(rng.Uint64())
				}
				v = attribute.Int64SliceValue(s)
			case 6:
				s := make([]float64, rng.IntN(20))
				for j := range s {
					s[j] = rng.NormFloat64()
				}
				v = attribute.Float64SliceValue(s)
			case 7:
				s := make([]bool, rng.IntN(20))
				for j := range s {
					s[j] = rng.IntN(2) == 1
				}
				v = attribute.BoolSliceValue(s)
			}
			attrs = append(attrs, attribute.KeyValue{Key: key, Value: v})
		}
		spans := tracetest.SpanStubs{{
			Name:        randString(),
			Attributes:  attrs,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{byte(iter)}, SpanID: [8]byte{1}}),
			StartTime:   time.Unix(0, rng.Int64()), EndTime: time.Unix(0, rng.Int64()),
			Status: sdktrace.Status{Code: codes.Code(rng.IntN(3)), Description: randString()},
		}}.Snapshots()
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(enc.encode(spans), &got); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		s := got.ResourceSpans[0].ScopeSpans[0].Spans[0]
		if s.Name != spans[0].Name() || len(s.Attributes) != len(attrs) {
			t.Fatalf("iteration %d: name or attribute count differ", iter)
		}
		if s.StartTimeUnixNano != uint64(max(0, spans[0].StartTime().UnixNano())) {
			t.Fatalf("iteration %d: start time %d", iter, s.StartTimeUnixNano)
		}
		if s.Status.Message != spans[0].Status().Description || int(s.Status.Code) != int(statusCodeValue(spans[0].Status().Code)) {
			t.Fatalf("iteration %d: status %v", iter, s.Status)
		}
		for i, kv := range s.Attributes {
			if kv.Key != string(attrs[i].Key) || !sameValue(kv.Value, attrs[i].Value) {
				t.Fatalf("iteration %d: attribute %d: got %v, want %v", iter, i, kv, attrs[i])
			}
		}
	}
}

func sameValue(got *commonpb.AnyValue, want attribute.Value) bool {
	floatEq := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	arr := got.GetArrayValue()
	switch want.Type() {
	case attribute.STRING:
		v, ok := got.Value.(*commonpb.AnyValue_StringValue)
		return ok && v.StringValue == want.AsString()
	case attribute.BOOL:
		v, ok := got.Value.(*commonpb.AnyValue_BoolValue)
		return ok && v.BoolValue == want.AsBool()
	case attribute.INT64:
		v, ok := got.Value.(*commonpb.AnyValue_IntValue)
		return ok && v.IntValue == want.AsInt64()
	case attribute.FLOAT64:
		v, ok := got.Value.(*commonpb.AnyValue_DoubleValue)
		return ok && floatEq(v.DoubleValue, want.AsFloat64())
	case attribute.STRINGSLICE:
		w := want.AsStringSlice()
		if arr == nil || len(arr.Values) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(arr.Values[i], attribute.StringValue(w[i])) {
				return false
			}
		}
		return true
	case attribute.INT64SLICE:
		w := want.AsInt64Slice()
		if arr == nil || len(arr.Values) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(arr.Values[i], attribute.Int64Value(w[i])) {
				return false
			}
		}
		return true
	case attribute.FLOAT64SLICE:
		w := want.AsFloat64Slice()
		if arr == nil || len(arr.Values) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(arr.Values[i], attribute.Float64Value(w[i])) {
				return false
			}
		}
		return true
	case attribute.BOOLSLICE:
		w := want.AsBoolSlice()
		if arr == nil || len(arr.Values) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(arr.Values[i], attribute.BoolValue(w[i])) {
				return false
			}
		}
		return true
	}
	return false
}

// The length of a nested message may need fewer or more varint bytes than reserved.
func TestEncoderLengthShifts(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 2097151, 2097152} {
		for room := 1; room <= 3; room++ {
			e := otlpEncoder{buf: []byte{0xAA}}
			start := e.begin(1, room)
			for i := range n {
				e.buf = append(e.buf, byte(i))
			}
			e.end(start, room)
			hdr := 2 + uvarintLen(uint64(n))
			if len(e.buf) != hdr+n || e.buf[0] != 0xAA || e.buf[1] != 0x0A {
				t.Fatalf("n=%d room=%d: len %d", n, room, len(e.buf))
			}
			for i := range n {
				if e.buf[hdr+i] != byte(i) {
					t.Fatalf("n=%d room=%d: body byte %d moved wrong", n, room, i)
				}
			}
		}
	}
}
