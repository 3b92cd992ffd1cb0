package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// suiteStore is what the shared suite needs: a Store or a Queue in front of one.
type suiteStore interface {
	Put(ctx context.Context, recs []Record) error
	Get(ctx context.Context, spanID string) (*Record, error)
	List(ctx context.Context, f Filter) (Page, error)
	AddEvaluation(ctx context.Context, ev Evaluation) error
}

// base is the suite's clock: records are spread around it a second or so apart.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func spanID(i int) string { return fmt.Sprintf("sp_%016x", i) }

// record is a realistic record numbered i, created i seconds after base.
func record(i int) Record {
	cost := 0.000125 * float64(i)
	return Record{
		SpanID:        spanID(i),
		TraceID:       fmt.Sprintf("tr_%016x", i/3),
		ParentSpanID:  "",
		Kind:          "LLM",
		Name:          "chat gpt-4o-mini",
		Model:         "gpt-4o-mini",
		Provider:      "openai",
		PromptSlug:    "welcome-email",
		PromptVersion: 2,
		Input:         json.RawMessage(`{"messages":[{"role":"user","content":"hi"}]}`),
		Output:        "Hello!",
		Variables:     map[string]string{"name": "Ada"},
		Status:        StatusSuccess,
		LatencyMs:     int64(100 + i),
		InputTokens:   12,
		OutputTokens:  30,
		TotalTokens:   42,
		Cost:          &cost,
		Tags:          []string{"prod"},
		UserID:        "user-1",
		SessionID:     "sess-1",
		CreatedAt:     base.Add(time.Duration(i) * time.Second),
	}
}

func put(t *testing.T, s suiteStore, recs ...Record) {
	t.Helper()
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatalf("put: %v", err)
	}
}

func list(t *testing.T, s suiteStore, f Filter) Page {
	t.Helper()
	p, err := s.List(context.Background(), f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	return p
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.SpanID
	}
	return out
}

// listAll pages through f with page size n and returns every span id in order.
func listAll(t *testing.T, s suiteStore, f Filter, n int) []string {
	t.Helper()
	f.Limit = n
	var out []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		p := list(t, s, f)
		out = append(out, ids(p.Records)...)
		if !p.HasMore {
			if p.NextCursor != "" {
				t.Fatalf("last page has cursor %q", p.NextCursor)
			}
			return out
		}
		if len(p.Records) != n || p.NextCursor == "" {
			t.Fatalf("page with more after it has %d records, cursor %q", len(p.Records), p.NextCursor)
		}
		f.Cursor = p.NextCursor
	}
}

// runStoreSuite checks the Store semantics against open, which returns a new, empty store
// (closed by its own t.Cleanup).
func runStoreSuite(t *testing.T, open func(t *testing.T) suiteStore) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		want := record(1)
		want.CreatedAt = time.Date(2026, 3, 14, 17, 9, 26, 123456789, time.FixedZone("CET", 3600))
		unpriced := record(2)
		unpriced.Cost = nil
		unpriced.Tags = nil
		unpriced.Variables = nil
		unpriced.Input = nil
		unpriced.Status = StatusError
		unpriced.Error = "provider: 429 rate limited"
		put(t, s, want, unpriced)

		got, err := s.Get(ctx, want.SpanID)
		if err != nil {
			t.Fatal(err)
		}
		want.CreatedAt = time.Date(2026, 3, 14, 16, 9, 26, 123456000, time.UTC)
		if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("created at %v, want %v in UTC at microseconds", got.CreatedAt, want.CreatedAt)
		}
		got.CreatedAt = want.CreatedAt
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("got  %+v\nwant %+v", *got, want)
		}
		got2, err := s.Get(ctx, unpriced.SpanID)
		if err != nil {
			t.Fatal(err)
		}
		if got2.Cost != nil || len(got2.Tags) != 0 || len(got2.Variables) != 0 || string(got2.Input) != "{}" ||
			got2.Status != StatusError || got2.Error != unpriced.Error {
			t.Errorf("unpriced record read back as %+v", *got2)
		}
		if _, err := s.Get(ctx, "sp_ffffffffffffffff"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown span: %v, want ErrNotFound", err)
		}
		// The store keeps its own copy.
		got.Tags[0] = "edited"
		if again, _ := s.Get(ctx, want.SpanID); again.Tags[0] != "prod" {
			t.Errorf("a caller's edit reached the store: %v", again.Tags)
		}
	})

	t.Run("text a database may refuse", func(t *testing.T) {
		s := open(t)
		odd := record(1)
		odd.Output = "nul \x00 byte"
		odd.Error = "bad \xff\xfe utf-8"
		odd.Tags = []string{"t\x00"}
		odd.Input = json.RawMessage("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}")
		put(t, s, odd, record(2))
		got, err := s.Get(ctx, spanID(1))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.Output, "nul ") || !strings.HasPrefix(got.Error, "bad ") || len(got.Tags) != 1 {
			t.Errorf("read back as %+v", *got)
		}
		if _, err := s.Get(ctx, spanID(2)); err != nil {
			t.Errorf("the record written with it: %v", err)
		}
		// Filters, ids and evaluations with such text are answered, not failed.
		if got := listAll(t, s, Filter{Tags: []string{"t\x00"}, UserID: "user-1"}, 1); !slices.Equal(got, []string{spanID(1)}) {
			t.Errorf("by odd tag: %v", got)
		}
		if _, err := s.List(ctx, Filter{PromptSlug: "\xff", SessionID: "\x00"}); err != nil {
			t.Errorf("odd filter: %v", err)
		}
		if _, err := s.Get(ctx, "sp_\x00\xff"); !errors.Is(err, ErrNotFound) {
			t.Errorf("odd id: %v", err)
		}
		if err := s.AddEvaluation(ctx, Evaluation{SpanID: spanID(1), EvaluatorKey: "k\x00", Note: "\xff"}); err != nil {
			t.Errorf("odd evaluation: %v", err)
		}
		odd2 := record(3)
		odd2.SpanID = "sp_\x00odd"
		put(t, s, odd2)
		if got := listAll(t, s, Filter{}, 1); len(got) != 3 {
			t.Errorf("paging over an odd span id: %q", got)
		}
	})

	t.Run("empty span id", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, []Record{{Model: "m"}}); !errors.Is(err, ErrBadRecord) {
			t.Errorf("put without span id: %v, want ErrBadRecord", err)
		}
	})

	t.Run("newest first with ties broken by span id", func(t *testing.T) {
		s := open(t)
		var recs []Record
		for i := range 12 {
			r := record(i)
			r.CreatedAt = base.Add(time.Duration(i/3) * time.Second) // three per second
			recs = append(recs, r)
		}
		put(t, s, recs[6:]...)
		put(t, s, recs[:6]...)
		var want []string
		for i := 11; i >= 0; i-- {
			want = append(want, spanID(i))
		}
		for _, n := range []int{1, 2, 5, 12, 50} {
			if got := listAll(t, s, Filter{}, n); !slices.Equal(got, want) {
				t.Errorf("page size %d: %v, want %v", n, got, want)
			}
		}
		p := list(t, s, Filter{})
		if p.HasMore || p.NextCursor != "" || len(p.Records) != 12 {
			t.Errorf("one page: more %v cursor %q, %d records", p.HasMore, p.NextCursor, len(p.Records))
		}
		if len(p.Records[0].Evaluations) != 0 || p.Records[0].Model != "gpt-4o-mini" {
			t.Errorf("list record %+v", p.Records[0])
		}
	})

	t.Run("filters", func(t *testing.T) {
		s := open(t)
		var recs []Record
		for i := range 20 {
			r := record(i)
			r.PromptSlug = []string{"welcome-email", "summary"}[i%2]
			r.Status = []string{StatusSuccess, StatusSuccess, StatusError}[i%3]
			r.UserID = fmt.Sprintf("user-%d", i%4)
			r.SessionID = fmt.Sprintf("sess-%d", i%5)
			r.Tags = nil
			if i%2 == 0 {
				r.Tags = append(r.Tags, "even")
			}
			if i%3 == 0 {
				r.Tags = append(r.Tags, "three")
			}
			if i == 7 {
				r.Tags = []string{"a,b", "it's", "100%_x"} // characters SQL and lists treat specially
			}
			recs = append(recs, r)
		}
		put(t, s, recs...)
		expect := func(keep func(i int, r Record) bool) []string {
			var out []string
			for i := len(recs) - 1; i >= 0; i-- {
				if keep(i, recs[i]) {
					out = append(out, recs[i].SpanID)
				}
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    Filter
			keep func(i int, r Record) bool
		}{
			{"prompt slug", Filter{PromptSlug: "summary"}, func(i int, _ Record) bool { return i%2 == 1 }},
			{"status", Filter{Status: StatusError}, func(i int, _ Record) bool { return i%3 == 2 }},
			{"user", Filter{UserID: "user-3"}, func(i int, _ Record) bool { return i%4 == 3 }},
			{"session", Filter{SessionID: "sess-0"}, func(i int, _ Record) bool { return i%5 == 0 }},
			{"one tag", Filter{Tags: []string{"three"}}, func(i int, _ Record) bool { return i%3 == 0 && i != 7 }},
			{"every tag", Filter{Tags: []string{"even", "three"}}, func(i int, _ Record) bool { return i%6 == 0 }},
			{"special tags", Filter{Tags: []string{"it's", "a,b"}}, func(i int, _ Record) bool { return i == 7 }},
			{"no such tag", Filter{Tags: []string{"100%"}}, func(int, Record) bool { return false }},
			{"start inclusive", Filter{Start: recs[15].CreatedAt}, func(i int, _ Record) bool { return i >= 15 }},
			{"end inclusive", Filter{End: recs[4].CreatedAt}, func(i int, _ Record) bool { return i <= 4 }},
			{"range in another zone", Filter{Start: recs[5].CreatedAt.In(time.FixedZone("X", -7*3600)), End: recs[9].CreatedAt.Add(999 * time.Millisecond)},
				func(i int, _ Record) bool { return i >= 5 && i <= 9 }},
			{"everything at once", Filter{PromptSlug: "welcome-email", Status: StatusSuccess, Tags: []string{"even"}, Start: recs[3].CreatedAt},
				func(i int, r Record) bool { return i >= 3 && i%2 == 0 && i%3 != 2 }},
			{"no match", Filter{UserID: "nobody"}, func(int, Record) bool { return false }},
		} {
			want := expect(tc.keep)
			for _, n := range []int{3, 50} {
				if got := listAll(t, s, tc.f, n); !slices.Equal(got, want) {
					t.Errorf("%s (page %d): %v, want %v", tc.name, n, got, want)
				}
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		s := open(t)
		var recs []Record
		for i := range MaxLimit + 5 {
			recs = append(recs, record(i))
		}
		put(t, s, recs...)
		if p := list(t, s, Filter{}); len(p.Records) != DefaultLimit || !p.HasMore {
			t.Errorf("default limit: %d records, more %v", len(p.Records), p.HasMore)
		}
		if p := list(t, s, Filter{Limit: MaxLimit + 500}); len(p.Records) != MaxLimit || !p.HasMore {
			t.Errorf("capped limit: %d records, more %v", len(p.Records), p.HasMore)
		}
		p := list(t, s, Filter{Limit: 3})
		if got := ids(p.Records); !slices.Equal(got, []string{spanID(MaxLimit + 4), spanID(MaxLimit + 3), spanID(MaxLimit + 2)}) {
			t.Errorf("newest three: %v", got)
		}
	})

	t.Run("paging is stable while spans arrive", func(t *testing.T) {
		s := open(t)
		for i := range 30 {
			put(t, s, record(i))
		}
		f := Filter{Limit: 4}
		var got []string
		next := 1000
		for {
			p := list(t, s, f)
			got = append(got, ids(p.Records)...)
			// Newer spans arrive between pages: they must not shift the pages still to come.
			put(t, s, record(next), record(next+1))
			next += 2
			if !p.HasMore {
				break
			}
			f.Cursor = p.NextCursor
		}
		var want []string
		for i := 29; i >= 0; i-- {
			want = append(want, spanID(i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged %v\nwant   %v", got, want)
		}
	})

	t.Run("replace keeps evaluations", func(t *testing.T) {
		s := open(t)
		put(t, s, record(1), record(2), record(3))
		ev := Evaluation{SpanID: spanID(2), EvaluatorKey: "quality", EvaluatorName: "Quality", Value: 0.9, Note: "good", Source: "sdk", CreatedAt: base}
		if err := s.AddEvaluation(ctx, ev); err != nil {
			t.Fatal(err)
		}
		moved := record(2)
		moved.Status = StatusError
		moved.Tags = []string{"retried"}
		moved.CreatedAt = base.Add(time.Hour) // now the newest
		put(t, s, moved)
		got, err := s.Get(ctx, spanID(2))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusError || !slices.Equal(got.Tags, []string{"retried"}) || !got.CreatedAt.Equal(moved.CreatedAt) {
			t.Errorf("replaced record %+v", *got)
		}
		if len(got.Evaluations) != 1 || got.Evaluations[0].EvaluatorKey != "quality" {
			t.Errorf("evaluations after replace: %+v", got.Evaluations)
		}
		if all := listAll(t, s, Filter{}, 2); !slices.Equal(all, []string{spanID(2), spanID(3), spanID(1)}) {
			t.Errorf("after replace: %v", all)
		}
		if old := listAll(t, s, Filter{Tags: []string{"prod"}}, 10); !slices.Equal(old, []string{spanID(3), spanID(1)}) {
			t.Errorf("old tags still match: %v", old)
		}
	})

	t.Run("the last of one span in one put wins", func(t *testing.T) {
		s := open(t)
		first, last := record(1), record(1)
		last.Model = "gpt-4o"
		last.Tags = []string{"dup", "dup", "x"}
		put(t, s, first, record(2), last)
		got, err := s.Get(ctx, spanID(1))
		if err != nil || got.Model != "gpt-4o" {
			t.Fatalf("got %v %+v", err, got)
		}
		if all := listAll(t, s, Filter{Tags: []string{"dup", "x"}}, 10); !slices.Equal(all, []string{spanID(1)}) {
			t.Errorf("by tag: %v", all)
		}
		if all := listAll(t, s, Filter{}, 10); !slices.Equal(all, []string{spanID(2), spanID(1)}) {
			t.Errorf("all: %v", all)
		}
	})

	t.Run("evaluations", func(t *testing.T) {
		s := open(t)
		put(t, s, record(1))
		if err := s.AddEvaluation(ctx, Evaluation{SpanID: spanID(99), EvaluatorKey: "k", Value: 1}); !errors.Is(err, ErrNotFound) {
			t.Errorf("evaluation of an unknown span: %v, want ErrNotFound", err)
		}
		want := []Evaluation{
			{ID: "ev_1", SpanID: spanID(1), EvaluatorKey: "quality", EvaluatorName: "Quality", Value: 0.25, Note: "meh", Source: "sdk", CreatedAt: base.Add(time.Second)},
			{ID: "ev_2", SpanID: spanID(1), EvaluatorKey: "tone", EvaluatorName: "Tone", Value: -3, Source: "api", CreatedAt: base.Add(2 * time.Second)},
		}
		for _, ev := range want {
			if err := s.AddEvaluation(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		unnamed := Evaluation{SpanID: spanID(1), EvaluatorKey: "auto", Value: 1}
		if err := s.AddEvaluation(ctx, unnamed); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, spanID(1))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Evaluations) != 3 {
			t.Fatalf("evaluations %+v", got.Evaluations)
		}
		for i := range want {
			if !got.Evaluations[i].CreatedAt.Equal(want[i].CreatedAt) {
				t.Errorf("evaluation %d created %v", i, got.Evaluations[i].CreatedAt)
			}
			got.Evaluations[i].CreatedAt = want[i].CreatedAt
			if got.Evaluations[i] != want[i] {
				t.Errorf("evaluation %d: %+v, want %+v", i, got.Evaluations[i], want[i])
			}
		}
		if e := got.Evaluations[2]; len(e.ID) != len("ev_")+16 || e.CreatedAt.IsZero() {
			t.Errorf("an evaluation without id and time got %+v", e)
		}
		if p := list(t, s, Filter{}); len(p.Records[0].Evaluations) != 0 {
			t.Errorf("list carries evaluations: %+v", p.Records[0].Evaluations)
		}
		for i := 3; i < MaxEvaluationsPerSpan; i++ {
			if err := s.AddEvaluation(ctx, Evaluation{SpanID: spanID(1), EvaluatorKey: "k", Value: float64(i)}); err != nil {
				t.Fatalf("evaluation %d: %v", i, err)
			}
		}
		if err := s.AddEvaluation(ctx, Evaluation{SpanID: spanID(1), EvaluatorKey: "k"}); !errors.Is(err, ErrTooManyEvaluations) {
			t.Errorf("evaluation past the bound: %v, want ErrTooManyEvaluations", err)
		}
	})

	t.Run("bad cursor", func(t *testing.T) {
		s := open(t)
		put(t, s, record(1))
		for _, c := range []string{"x", "v1.", "v1.!!!", "v1." + "bm90LWEtbnVtYmVy", "v1.MTIz", string(make([]byte, 600))} {
			if _, err := s.List(ctx, Filter{Cursor: c}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
			}
		}
	})

	t.Run("concurrent use", func(t *testing.T) {
		s := open(t)
		const writers, each = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, 4*writers*each)
		for w := range writers {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range each {
					n := w*each + i
					if err := s.Put(ctx, []Record{record(n)}); err != nil {
						errs <- err
						continue
					}
					if err := s.AddEvaluation(ctx, Evaluation{SpanID: spanID(n), EvaluatorKey: "k", Value: 1}); err != nil {
						errs <- err
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := range each {
					if _, err := s.List(ctx, Filter{Limit: 10, Tags: []string{"prod"}}); err != nil {
						errs <- err
					}
					if _, err := s.Get(ctx, spanID(w*each+i)); err != nil && !errors.Is(err, ErrNotFound) {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := listAll(t, s, Filter{}, 33); len(got) != writers*each {
			t.Errorf("%d records after concurrent puts, want %d", len(got), writers*each)
		}
		for n := range writers * each {
			r, err := s.Get(ctx, spanID(n))
			if err != nil || len(r.Evaluations) != 1 {
				t.Fatalf("span %d: %v, %+v", n, err, r)
			}
		}
	})
}
