package spans

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

// TestEndedRunStaysItsOwn: what a caller can still hold after End (the Run, its ids, the
// context, an attempt) keeps answering for that run while later runs take its pooled state,
// and late calls on it change none of theirs.
func TestEndedRunStaysItsOwn(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{CaptureContent: true})
	sink := &keptSummaries{}
	rec.SetSink(sink)
	for i := range 50 {
		ctx, old, err := rec.StartRun(context.Background(), RunStart{Name: "run old", Slug: "old", Model: "m-old"})
		if err != nil {
			t.Fatal(err)
		}
		att := old.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "m-old"})
		att.End(&llm.Response{Model: "m-old"}, nil)
		sid, tid, tp, sc := old.SpanID(), old.TraceID(), old.Traceparent(), old.SpanContext()
		old.End(RunEnd{Response: &llm.Response{Model: "m-old"}})

		model := fmt.Sprintf("m-new-%d", i)
		_, next, err := rec.StartRun(context.Background(), RunStart{Name: "run new", Slug: "new", Model: model})
		if err != nil {
			t.Fatal(err)
		}
		// Late calls on the ended run, while the next one (likely on its state) is open.
		old.SetModel("late-model")
		old.SetPromptVersion(99)
		old.SetInput([]llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("late input")}}})
		old.SetEmbeddings(3, true)
		old.FirstChunk()
		att.FirstChunk()
		att.End(nil, fmt.Errorf("late"))
		old.End(RunEnd{ErrorType: "LATE"})
		next.End(RunEnd{Response: &llm.Response{Model: model}})

		if old.SpanID() != sid || old.TraceID() != tid || old.Traceparent() != tp {
			t.Fatalf("ended run's ids changed: %s %s %s, want %s %s %s", old.SpanID(), old.TraceID(), old.Traceparent(), sid, tid, tp)
		}
		if got := trace.SpanContextFromContext(ctx); !got.Equal(sc) {
			t.Fatalf("ended run's context carries %v, want %v", got, sc)
		}
		if next.SpanID() == sid {
			t.Fatal("two runs share a span id")
		}
	}
	for _, s := range exp.GetSpans() {
		a := attrMap(s.Attributes)
		if a["gen_ai.request.model"] == "late-model" || a["tracegate.prompt.version"] == int64(99) ||
			a["gen_ai.input.messages"] != nil || a[AttrUsageEstimated] != nil || a["error.type"] != nil ||
			a["gen_ai.response.time_to_first_chunk"] != nil {
			t.Fatalf("span %q got a late call's attribute: %v", s.Name, a)
		}
	}
	sums := sink.all()
	if len(sums) != 100 {
		t.Fatalf("%d summaries, want 100", len(sums))
	}
	for i, s := range sums {
		want := "m-old"
		if i%2 == 1 {
			want = fmt.Sprintf("m-new-%d", i/2)
		}
		if s.Model != want || s.Failed || s.Input != nil || s.Version != 0 {
			t.Fatalf("summary %d: %+v, want model %s and nothing from late calls", i, s, want)
		}
	}
}

// countingSink keeps nothing; it checks each Summary while it is valid.
type countingSink struct {
	mu   sync.Mutex
	seen map[string]string // span id -> model
}

func (k *countingSink) Keep(s *Summary) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen[s.SpanID] = s.Model
}

// TestConcurrentRunsKeepTheirState runs many runs at once, each ended on another goroutine
// while its own goroutine still calls it, and every span and summary must be its run's
// (under -race this also checks the state hand-over).
func TestConcurrentRunsKeepTheirState(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	sink := &countingSink{seen: map[string]string{}}
	rec.SetSink(sink)
	const workers, runs = 8, 50
	want := make([][]string, workers) // span ids and models per worker
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range runs {
				model := fmt.Sprintf("m-%d-%d", w, i)
				_, run, err := rec.StartRun(context.Background(), RunStart{Name: "chat " + model, Model: model})
				if err != nil {
					t.Error(err)
					return
				}
				att := run.StartAttempt(AttemptStart{ProviderKind: "openai", Model: model})
				done := make(chan struct{})
				go func() {
					defer close(done)
					att.End(&llm.Response{Model: model}, nil)
					run.End(RunEnd{Response: &llm.Response{Model: model}})
				}()
				run.SetModel(model)
				run.FirstChunk()
				<-done
				want[w] = append(want[w], run.SpanID(), model)
			}
		})
	}
	wg.Wait()
	byID := map[string]string{}
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			byID[FormatSpanID(s.SpanContext.SpanID())] = s.Name
		}
	}
	for _, ids := range want {
		for i := 0; i < len(ids); i += 2 {
			id, model := ids[i], ids[i+1]
			if byID[id] != "chat "+model {
				t.Fatalf("run %s exported as %q, want chat %s", id, byID[id], model)
			}
			if sink.seen[id] != model {
				t.Fatalf("run %s summarised with model %q, want %s", id, sink.seen[id], model)
			}
		}
	}
}

// TestRunContextCarriesTheSpan: the context StartRun returns is the Run's own (no context
// allocation), reads through to its parent, and derived contexts see the run span.
func TestRunContextCarriesTheSpan(t *testing.T) {
	if !runContextWorks {
		t.Fatal("the trace package's span key was not found: StartRun allocates a context per run")
	}
	rec, _ := newSyncRecorder(t, Options{})
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "parent value")
	ctx, run, err := rec.StartRun(parent, RunStart{Name: "run x"})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(RunEnd{})
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if got := trace.SpanContextFromContext(child); !got.Equal(run.SpanContext()) {
		t.Errorf("derived context carries %v, want the run span %v", got, run.SpanContext())
	}
	if ctx.Value(key{}) != "parent value" {
		t.Error("the run context does not read through to its parent")
	}
	cancel()
	if child.Err() == nil || ctx.Err() != nil {
		t.Error("cancelling a derived context must not cancel the run context")
	}
}
