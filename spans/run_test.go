package spans

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func ptr[T any](v T) *T { return &v }

func TestRunWithRetryRecordsTreeAndAttributes(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	ctx, run, err := rec.StartRun(context.Background(), RunStart{
		Name:      "run welcome-email",
		Slug:      "welcome-email",
		Version:   2,
		Model:     "gpt-4o-mini",
		Tags:      []string{"onboarding", "email"},
		UserID:    "user-1",
		SessionID: "sess-9",
		Variables: map[string]string{"product": "Widget", "name": "Alice"},
	})
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	if got := trace.SpanFromContext(ctx).SpanContext(); !got.Equal(run.SpanContext()) {
		t.Errorf("returned context carries %v, want the run span %v", got, run.SpanContext())
	}
	req := &llm.Request{
		Model:       "gpt-4o-mini",
		Messages:    []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("hi")}}},
		Temperature: ptr(0.7),
		TopP:        ptr(0.9),
		MaxTokens:   400,
		Stop:        []string{"END"},
		Stream:      true,
	}
	first := run.StartAttempt(AttemptStart{
		ProviderName: "openai", ProviderKind: "openai", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443, Request: req,
	})
	first.End(nil, &llm.UpstreamError{Provider: "openai", Status: 429, Type: "rate_limit_error", Message: "slow down"})
	second := run.StartAttempt(AttemptStart{
		ProviderName: "openai", ProviderKind: "openai", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443, Request: req,
	})
	resp := &llm.Response{
		ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", Text: "Dear Alice", HasText: true,
		FinishReason: llm.FinishStop, RawFinishReason: "stop",
		Usage: llm.Usage{InputTokens: 120, OutputTokens: 85, CacheReadTokens: 100, CacheWriteTokens: 10,
			CacheWrite1hTokens: 5, ReasoningTokens: 20, Known: true},
	}
	second.End(resp, nil)
	run.End(RunEnd{Response: resp, Cost: 0.000935, Priced: true})

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("got %d spans %v, want run + 2 attempts", len(spans), spanNames(spans))
	}
	runSpan := spans[2]
	if runSpan.Name != "run welcome-email" || runSpan.SpanKind != trace.SpanKindServer {
		t.Fatalf("last span is %q kind %v, want run span of kind server", runSpan.Name, runSpan.SpanKind)
	}
	if runSpan.Parent.IsValid() {
		t.Errorf("run span has parent %v, want a root", runSpan.Parent)
	}
	if got, want := run.SpanID(), FormatSpanID(runSpan.SpanContext.SpanID()); got != want {
		t.Errorf("SpanID() = %s, exported span id %s", got, want)
	}
	if got, want := run.TraceID(), FormatTraceID(runSpan.SpanContext.TraceID()); got != want || len(got) != 3+16 {
		t.Errorf("TraceID() = %s, want %s in the 64-bit form", got, want)
	}
	for i, s := range spans[:2] {
		if s.Name != "chat gpt-4o-mini" || s.SpanKind != trace.SpanKindClient {
			t.Errorf("attempt %d is %q kind %v, want chat gpt-4o-mini, client", i+1, s.Name, s.SpanKind)
		}
		if s.Parent.SpanID() != runSpan.SpanContext.SpanID() || s.SpanContext.TraceID() != runSpan.SpanContext.TraceID() {
			t.Errorf("attempt %d parent %v trace %v, want child of run %v", i+1, s.Parent.SpanID(), s.SpanContext.TraceID(), runSpan.SpanContext)
		}
	}

	wantRun := map[string]any{
		"gen_ai.request.model":                     "gpt-4o-mini",
		"tracegate.prompt.slug":                    "welcome-email",
		"tracegate.prompt.version":                 int64(2),
		"gen_ai.prompt.name":                       "welcome-email",
		"gen_ai.prompt.version":                    int64(2),
		"tracegate.tags":                           []string{"onboarding", "email"},
		"user.id":                                  "user-1",
		"session.id":                               "sess-9",
		"gen_ai.conversation.id":                   "sess-9",
		"tracegate.prompt.variables":               []string{"name", "product"},
		"gen_ai.response.id":                       "chatcmpl-1",
		"gen_ai.response.model":                    "gpt-4o-mini-2024-07-18",
		"gen_ai.response.finish_reasons":           []string{"stop"},
		"gen_ai.usage.input_tokens":                int64(120),
		"gen_ai.usage.output_tokens":               int64(85),
		"gen_ai.usage.cache_read.input_tokens":     int64(100),
		"gen_ai.usage.cache_creation.input_tokens": int64(15),
		"gen_ai.usage.reasoning.output_tokens":     int64(20),
		"tracegate.cost.status":                    "priced",
		"gen_ai.usage.cost":                        0.000935,
		"llm.cost.total":                           0.000935,
	}
	if got := attrMap(runSpan.Attributes); !reflect.DeepEqual(got, wantRun) {
		t.Errorf("run attributes\n got %v\nwant %v", got, wantRun)
	}
	if runSpan.Status.Code != codes.Unset {
		t.Errorf("run status %v, want unset on success", runSpan.Status)
	}

	wantStart := map[string]any{
		"gen_ai.operation.name":         "chat",
		"gen_ai.provider.name":          "openai",
		"gen_ai.request.model":          "gpt-4o-mini",
		"tracegate.provider":            "openai",
		"server.address":                "api.openai.com",
		"server.port":                   int64(443),
		"gen_ai.conversation.id":        "sess-9",
		"gen_ai.request.temperature":    0.7,
		"gen_ai.request.top_p":          0.9,
		"gen_ai.request.max_tokens":     int64(400),
		"gen_ai.request.stop_sequences": []string{"END"},
		"gen_ai.request.stream":         true,
	}
	wantFailed := clone(wantStart)
	wantFailed["tracegate.attempt"] = int64(1)
	wantFailed["error.type"] = "rate_limit_error"
	if got := attrMap(spans[0].Attributes); !reflect.DeepEqual(got, wantFailed) {
		t.Errorf("failed attempt attributes\n got %v\nwant %v", got, wantFailed)
	}
	if spans[0].Status.Code != codes.Error || !strings.Contains(spans[0].Status.Description, "slow down") {
		t.Errorf("failed attempt status %+v, want error with the provider message", spans[0].Status)
	}
	wantOK := clone(wantStart)
	wantOK["tracegate.attempt"] = int64(2)
	for _, k := range []string{"gen_ai.response.id", "gen_ai.response.model", "gen_ai.response.finish_reasons",
		"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
		"gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens"} {
		wantOK[k] = wantRun[k]
	}
	if got := attrMap(spans[1].Attributes); !reflect.DeepEqual(got, wantOK) {
		t.Errorf("successful attempt attributes\n got %v\nwant %v", got, wantOK)
	}
	if spans[1].Status.Code != codes.Unset {
		t.Errorf("successful attempt status %v, want unset", spans[1].Status)
	}
	if got := runSpan.Resource.Set().Len(); got == 0 {
		t.Error("run span has an empty resource")
	}
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestSamplerRelevantAttributesSetAtStart checks what an attempt span carries from its start
// (OTel's GenAI conventions ask for operation, provider, model and server address there, for
// samplers): the recorded span as StartAttempt leaves it, before any response is known.
func TestSamplerRelevantAttributesSetAtStart(t *testing.T) {
	rec, _ := newSyncRecorder(t, Options{})
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run s", Slug: "s", Model: "claude-x"})
	if err != nil {
		t.Fatal(err)
	}
	a := run.StartAttempt(AttemptStart{ProviderKind: "anthropic", Model: "claude-x", ServerAddress: "api.anthropic.com", ServerPort: 443,
		Request: &llm.Request{Stream: true}})
	a.mu.Lock()
	atStart := attrMap(a.span.Attributes())
	name := a.span.Name()
	a.mu.Unlock()
	want := map[string]any{
		"gen_ai.operation.name": "chat",
		"gen_ai.provider.name":  "anthropic",
		"gen_ai.request.model":  "claude-x",
		"server.address":        "api.anthropic.com",
		"server.port":           int64(443),
		"gen_ai.request.stream": true,
		"tracegate.attempt":     int64(1),
	}
	if name != "chat claude-x" || !reflect.DeepEqual(atStart, want) {
		t.Errorf("attempt %q attributes at start\n got %v\nwant %v", name, atStart, want)
	}
	a.End(nil, nil)
	run.End(RunEnd{})
}

func TestProviderNames(t *testing.T) {
	for kind, want := range map[string]string{
		"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "mock": "tracegate.mock",
		"azure": "azure.ai.openai", "bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai",
		"watsonx": "watsonx", "": "_OTHER",
	} {
		if got := providerNameAttr(kind).Value.AsString(); got != want {
			t.Errorf("provider kind %q -> %q, want %q", kind, got, want)
		}
	}
}

func TestAttemptErrorTypes(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{context.Canceled, "cancelled"},
		{fmt.Errorf("read body: %w", context.Canceled), "cancelled"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), "timeout"},
		{&llm.UpstreamError{Status: 503}, "503"},
		{&llm.UpstreamError{Status: 429, Code: "insufficient_quota"}, "insufficient_quota"},
		{fmt.Errorf("attempt: %w", &llm.UpstreamError{Status: 529, Type: "overloaded_error"}), "overloaded_error"},
		{&llm.UpstreamError{}, "upstream_error"},
		{fmt.Errorf("decode: %w", llm.ErrStreamTruncated), "stream_truncated"},
		{fmt.Errorf("%w: bad", llm.ErrInvalidRequest), "invalid_request"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "connection_error"},
		{&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, "timeout"},
		{errors.New("boom"), "_OTHER"},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			rec, exp := newSyncRecorder(t, Options{})
			_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run x"})
			if err != nil {
				t.Fatal(err)
			}
			run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "mock-1"}).End(nil, tc.err)
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want the attempt", len(spans))
			}
			if got := attrMap(spans[0].Attributes)["error.type"]; got != tc.want {
				t.Errorf("error.type = %v, want %q", got, tc.want)
			}
			if spans[0].Status.Code != codes.Error {
				t.Errorf("status %v, want error", spans[0].Status.Code)
			}
			run.End(RunEnd{})
		})
	}
}

func TestRunFailureUsesCallerErrorCode(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "run x", Slug: "x"})
	if err != nil {
		t.Fatal(err)
	}
	upstream := &llm.UpstreamError{Provider: "openai", Status: 500, Type: "server_error", Message: "oops"}
	run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "gpt"}).End(nil, upstream)
	run.End(RunEnd{Err: fmt.Errorf("provider: %w", upstream), ErrorType: "PROVIDER_ERROR", StaleTemplate: true})

	runSpan := spanByName(t, exp.GetSpans(), "run x")
	attrs := attrMap(runSpan.Attributes)
	if attrs["error.type"] != "PROVIDER_ERROR" {
		t.Errorf("run error.type = %v, want PROVIDER_ERROR", attrs["error.type"])
	}
	if attrs["tracegate.template.stale"] != true {
		t.Errorf("tracegate.template.stale = %v, want true", attrs["tracegate.template.stale"])
	}
	for _, k := range []string{"tracegate.cost.status", "gen_ai.usage.cost", "llm.cost.total", "gen_ai.usage.input_tokens"} {
		if v, ok := attrs[k]; ok {
			t.Errorf("failed run has %s = %v, want none", k, v)
		}
	}
	if runSpan.Status.Code != codes.Error || !strings.Contains(runSpan.Status.Description, "oops") {
		t.Errorf("run status %+v, want error carrying the message", runSpan.Status)
	}
}

func TestRunErrorTypeDerivedWhenCodeMissing(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x"})
	run.End(RunEnd{Err: context.DeadlineExceeded})
	s := exp.GetSpans()[0]
	if got := attrMap(s.Attributes)["error.type"]; got != "timeout" {
		t.Errorf("error.type = %v, want timeout", got)
	}
	if s.Status.Code != codes.Error {
		t.Errorf("status %v, want error", s.Status.Code)
	}
}

func TestUnpricedRun(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x"})
	run.End(RunEnd{Response: &llm.Response{FinishReason: llm.FinishLength, RawFinishReason: "max_tokens",
		Usage: llm.Usage{InputTokens: 3, OutputTokens: 4, Known: true}}})
	attrs := attrMap(exp.GetSpans()[0].Attributes)
	want := map[string]any{
		"tracegate.cost.status":                "unpriced",
		"gen_ai.response.finish_reasons":       []string{"length"},
		"tracegate.response.finish_reason.raw": "max_tokens",
		"gen_ai.usage.input_tokens":            int64(3),
		"gen_ai.usage.output_tokens":           int64(4),
	}
	if !reflect.DeepEqual(attrs, want) {
		t.Errorf("attributes\n got %v\nwant %v", attrs, want)
	}
}

func TestUnknownUsageIsNotZero(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x"})
	run.End(RunEnd{Response: &llm.Response{RawFinishReason: "end_turn"}})
	attrs := attrMap(exp.GetSpans()[0].Attributes)
	if _, ok := attrs["gen_ai.usage.input_tokens"]; ok {
		t.Errorf("unknown usage recorded as %v", attrs["gen_ai.usage.input_tokens"])
	}
	if got := attrs["gen_ai.response.finish_reasons"]; !reflect.DeepEqual(got, []string{"end_turn"}) {
		t.Errorf("finish_reasons = %v, want the raw reason when none was normalised", got)
	}
}

func TestEndTwiceIsNoOp(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x"})
	a := run.StartAttempt(AttemptStart{ProviderKind: "mock", Model: "m"})
	a.End(&llm.Response{ID: "first"}, nil)
	a.End(nil, errors.New("second"))
	run.End(RunEnd{ErrorType: "TIMEOUT"})
	run.End(RunEnd{ErrorType: "UNKNOWN"})
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	if a := attrMap(spans[0].Attributes); a["gen_ai.response.id"] != "first" || a["error.type"] != nil {
		t.Errorf("attempt attributes %v, want those of the first End only", a)
	}
	if got := attrMap(spans[1].Attributes)["error.type"]; got != "TIMEOUT" {
		t.Errorf("run error.type = %v, want the first End's", got)
	}
}

func TestSetModelAndPromptVersion(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x", Slug: "x"})
	run.SetModel("gpt-4o")
	run.SetPromptVersion(7)
	run.End(RunEnd{})
	attrs := attrMap(exp.GetSpans()[0].Attributes)
	if attrs["gen_ai.request.model"] != "gpt-4o" || attrs["tracegate.prompt.version"] != int64(7) {
		t.Errorf("attributes %v, want the model and version set after start", attrs)
	}
}

func TestStatusDescriptionRedactsKeys(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, _ := rec.StartRun(context.Background(), RunStart{Name: "run x"})
	err := &llm.UpstreamError{Provider: "openai", Status: 401, Type: "invalid_request_error",
		Message: "Incorrect API key provided: sk-proj-abcd****************wxyz. Also Bearer abc123def456 and AIzaSyA1234567890"}
	run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "m"}).End(nil, err)
	run.End(RunEnd{Err: err, ErrorType: "PROVIDER_ERROR"})
	text := allAttributeText(exp.GetSpans())
	for _, secret := range []string{"sk-proj", "wxyz", "abc123def456", "AIzaSy"} {
		if strings.Contains(text, secret) {
			t.Errorf("span text contains %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "Incorrect API key provided: [REDACTED]") {
		t.Errorf("status lost the message around the key:\n%s", text)
	}
}

func TestTruncateUTF8(t *testing.T) {
	long := strings.Repeat("é", 400)
	if got := truncateUTF8(long, 511); len(got) > 514 || !strings.HasSuffix(got, "...") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("truncateUTF8 broke a rune or did not cut: %d bytes", len(got))
	}
}
