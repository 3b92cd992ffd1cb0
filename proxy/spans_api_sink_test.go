package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// TestStoreSinkRecords: what the recorder reports becomes the record the spans API serves,
// content included only when the recorder captured it.
func TestStoreSinkRecords(t *testing.T) {
	q := store.NewQueue(store.NewMemory(0), 0)
	defer q.Close(context.Background())
	rec := spans.NewWithExporter(nil, spans.Options{CaptureContent: true}, true)
	rec.SetSink(NewStoreSink(q))

	_, run, err := rec.StartRun(context.Background(), spans.RunStart{Slug: "greet", Model: "gpt-4o-mini", Variables: map[string]string{"name": "Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	run.SetInput([]llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("Say hi to Ada")}}})
	run.SetPromptVersion(3)
	run.StartAttempt(spans.AttemptStart{ProviderKind: "gemini", Model: "gemini-2.5-flash"}).End(nil, nil)
	run.End(spans.RunEnd{Response: &llm.Response{Model: "gemini-2.5-flash", Text: "Hi Ada", HasText: true,
		Usage: llm.Usage{InputTokens: 5, OutputTokens: 2, Known: true}}})

	r, err := q.Get(context.Background(), run.SpanID())
	if err != nil {
		t.Fatal(err)
	}
	if r.PromptSlug != "greet" || r.PromptVersion != 3 || r.Provider != "gemini" || r.Cost != nil || r.Status != store.StatusSuccess ||
		r.Output != "Hi Ada" || r.Variables["name"] != "Ada" || r.TotalTokens != 7 || r.Name != "run greet" {
		t.Errorf("record %+v", r)
	}
	var in struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(r.Input, &in); err != nil || len(in.Messages) != 1 || in.Messages[0].Content != "Say hi to Ada" {
		t.Errorf("input %s, want the conversation as LocalPromptMessages", r.Input)
	}
	span := appendSpan(nil, r)
	checkContract(t, shapeSpan, span)
	var out map[string]any
	_ = json.Unmarshal(span, &out)
	if out["provider"] != "google" || out["cost"] != nil {
		t.Errorf("Span reports provider %v cost %v, want the SDKs' google and null for unpriced", out["provider"], out["cost"])
	}

	got, err := rec.Ingest(&spans.IngestedSpan{SpanID: "sp_0000000000000c01", Model: "m", ProviderKind: "openai", Failed: true,
		Error: "boom", Latency: 2 * time.Second, InputJSON: []byte(`{"text":["a"]}`), Output: "x", Priced: true, Cost: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	r, err = q.Get(context.Background(), got.SpanID)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Input) != `{"text":["a"]}` || r.Status != store.StatusError || r.Error != "boom" || r.Cost == nil || *r.Cost != 0.25 ||
		r.LatencyMs != 2000 || time.Since(r.CreatedAt) > time.Minute || time.Since(r.CreatedAt) < 0 {
		t.Errorf("ingested record %+v", r)
	}
}

// TestStoreSinkKeepsEachRunsCost: the recorder reuses a run's Summary once Keep returns, so
// every record must keep its own cost, not a pointer into the Summary.
func TestStoreSinkKeepsEachRunsCost(t *testing.T) {
	q := store.NewQueue(store.NewMemory(0), 0)
	defer q.Close(context.Background())
	rec := spans.NewWithExporter(nil, spans.Options{}, true)
	rec.SetSink(NewStoreSink(q))
	costs := map[string]float64{}
	for i := range 200 { // more than a cost slab holds
		_, run, err := rec.StartRun(context.Background(), spans.RunStart{Name: "chat m", Model: "m", Tags: []string{fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		cost := float64(i) / 1000
		run.End(spans.RunEnd{Response: &llm.Response{Model: "m"}, Cost: cost, Priced: i%3 != 0})
		if i%3 != 0 {
			costs[run.SpanID()] = cost
		} else {
			costs[run.SpanID()] = -1
		}
	}
	for id, want := range costs {
		r, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case want < 0 && r.Cost != nil:
			t.Fatalf("unpriced run %s has cost %v", id, *r.Cost)
		case want >= 0 && (r.Cost == nil || *r.Cost != want):
			t.Fatalf("run %s cost %v, want %v", id, r.Cost, want)
		case r.SpanID != id || r.Name != "chat m":
			t.Fatalf("record %+v for run %s", r, id)
		}
	}
}

// BenchmarkStoreSinkHandOff is what a run pays on the request path to hand its record to the
// store: Summary -> Record -> Enqueue, with the strings a request makes (its own copies of
// model, provider, tags, user and session) and a new span id per run.
func BenchmarkStoreSinkHandOff(b *testing.B) {
	// The store is full from the start, as under load: the drain goroutine evicts, not grows.
	m := store.NewMemory(store.DefaultMaxSpans)
	old := make([]store.Record, store.DefaultMaxSpans)
	for i := range old {
		old[i] = store.Record{SpanID: fmt.Sprintf("sp_e%015x", i), CreatedAt: time.Now().Add(-time.Hour)}
	}
	if err := m.Put(context.Background(), old); err != nil {
		b.Fatal(err)
	}
	q := store.NewQueue(m, 1<<16)
	defer q.Close(context.Background())
	sink := NewStoreSink(q)
	sums := make([]spans.Summary, 4096)
	for i := range sums {
		s := strings.Clone
		sums[i] = spans.Summary{TraceID: fmt.Sprintf("tr_%016x", i),
			Name: s("run welcome-email"), Model: s("gpt-4o-mini"), ProviderKind: s("openai"), Slug: s("welcome-email"), Version: 3,
			Tags: []string{s("prod"), s("onboarding")}, UserID: fmt.Sprintf("user-%d", i%500), SessionID: fmt.Sprintf("sess-%d", i/4),
			Start: time.Now(), Latency: 812 * time.Millisecond, Usage: llm.Usage{InputTokens: 412, OutputTokens: 187, Known: true},
			Priced: true, Cost: 0.00042}
	}
	// Every run has its own span id, made ahead in chunks so that making them is not timed.
	ids := make([]string, 1<<16)
	start, n := time.Now(), 0
	b.ReportAllocs()
	for b.Loop() {
		if n%len(ids) == 0 {
			b.StopTimer()
			for j := range ids {
				ids[j] = fmt.Sprintf("sp_%016x", n+j)
			}
			b.StartTimer()
		}
		sum := &sums[n%len(sums)]
		sum.SpanID = ids[n%len(ids)]
		sum.Start = start.Add(time.Duration(n) * time.Microsecond) // runs end in order, as under load
		sink.Keep(sum)
		n++
	}
}
