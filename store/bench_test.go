package store

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// realistic is record i as the server makes it: every string its own allocation (as parsed
// from a request), and with content only when capture_content is on.
func realistic(i int, content bool) Record {
	s := strings.Clone
	cost := 0.00042
	r := Record{
		SpanID:        fmt.Sprintf("sp_%016x", i),
		TraceID:       fmt.Sprintf("tr_%016x", i),
		ParentSpanID:  fmt.Sprintf("sp_%016x", i+1<<40),
		Kind:          s("LLM"),
		Name:          s("run welcome-email"),
		Model:         s("gpt-4o-mini"),
		Provider:      s("openai"),
		PromptSlug:    s("welcome-email"),
		PromptVersion: 3,
		Input:         json.RawMessage(`{}`),
		Status:        StatusSuccess,
		LatencyMs:     812,
		InputTokens:   412,
		OutputTokens:  187,
		TotalTokens:   599,
		Cost:          &cost,
		Tags:          []string{s("prod"), s("onboarding")},
		UserID:        fmt.Sprintf("user-%d", i%5000),
		SessionID:     fmt.Sprintf("sess-%08x", i/4),
		CreatedAt:     time.Now(),
	}
	if content {
		r.Input = json.RawMessage(`{"messages":[{"role":"system","content":"You write short, warm emails."},` +
			`{"role":"user","content":"Write a welcome email to ` + fmt.Sprint(i) + ` about Tracegate, ` +
			strings.Repeat("a gateway for LLM calls with tracing, ", 10) + `"}]}`)
		r.Output = "Dear customer, welcome aboard! " + strings.Repeat("We are glad to have you. ", 20)
		r.Variables = map[string]string{s("name"): fmt.Sprint("Ada ", i), s("product"): s("Tracegate")}
	}
	return r
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryFootprint fills a memory store to DefaultMaxSpans and reports the heap it
// holds per record, without and with captured content, through the public Put (which copies)
// and the queue's way in (putOwned, which keeps the records' tags and input as they come).
func BenchmarkMemoryFootprint(b *testing.B) {
	for _, owned := range []bool{false, true} {
		for _, content := range []bool{false, true} {
			b.Run(fmt.Sprintf("owned=%v/content=%v", owned, content), func(b *testing.B) {
				b.ReportAllocs()
				var perRecord float64
				for b.Loop() {
					before := heapInUse()
					m := NewMemory(DefaultMaxSpans)
					put := m.Put
					if owned {
						put = func(_ context.Context, recs []Record) error { return m.putOwned(recs) }
					}
					for i := range DefaultMaxSpans {
						if err := put(context.Background(), []Record{realistic(i, content)}); err != nil {
							b.Fatal(err)
						}
					}
					after := heapInUse()
					perRecord = float64(after-before) / DefaultMaxSpans
					runtime.KeepAlive(m)
				}
				b.ReportMetric(perRecord, "heap-B/record")
				b.ReportMetric(perRecord*DefaultMaxSpans/(1<<20), "heap-MiB/store")
			})
		}
	}
}

// BenchmarkQueueEnqueue is the cost a run pays to hand its record to the store.
func BenchmarkQueueEnqueue(b *testing.B) {
	q := NewQueue(NewMemory(DefaultMaxSpans), DefaultQueueSize)
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = realistic(i, false)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q.Enqueue(recs[i%len(recs)])
		i++
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(q.Dropped()), "dropped")
}

type benchBackend struct {
	name string
	open func(b *testing.B) Store
}

func benchBackends() []benchBackend {
	return []benchBackend{
		{"memory", func(*testing.B) Store { return NewMemory(0) }},
		{"sqlite", func(b *testing.B) Store { return openTestSQLite(b, sqlOptions{}) }},
		{"postgres", func(b *testing.B) Store { return openTestPostgres(b, sqlOptions{}) }},
	}
}

// BenchmarkPut writes batches of 64 records, as the queue does under load.
func BenchmarkPut(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			batch := make([]Record, 64)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				b.StopTimer()
				for i := range batch {
					batch[i] = realistic(n, false)
					n++
				}
				b.StartTimer()
				if err := s.Put(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}

// BenchmarkList reads the newest page of 50 out of 5000 records, unfiltered and by tag and user.
func BenchmarkList(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			var recs []Record
			for i := range 5000 {
				recs = append(recs, realistic(i, false))
			}
			if err := s.Put(context.Background(), recs); err != nil {
				b.Fatal(err)
			}
			for _, f := range []struct {
				name string
				f    Filter
			}{{"all", Filter{}}, {"tag+user", Filter{Tags: []string{"prod"}, UserID: "user-7"}}} {
				b.Run(f.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.List(context.Background(), f.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkMemorySteady is the memory backend's write path once it is full: every record put
// evicts the oldest, in batches of 64 as the queue hands them over. Records are realistic
// (tags, user, session, no content) and arrive newest last, a few out of order as concurrent
// calls finish. "owned" is the queue's way in (putOwned), "Put" the public one, which copies.
func BenchmarkMemorySteady(b *testing.B) {
	for _, owned := range []bool{true, false} {
		name := "Put"
		if owned {
			name = "owned"
		}
		b.Run(name, func(b *testing.B) {
			m := NewMemory(DefaultMaxSpans)
			put := m.Put
			if owned {
				put = func(_ context.Context, recs []Record) error { return m.putOwned(recs) }
			}
			base := time.Now()
			n := 0
			// Records are made ahead, 256 batches at a time, so that making them is not timed.
			made := make([]Record, 256*64)
			var pending []Record
			refill := func() {
				for i := range made {
					r := realistic(n, false)
					// Every eighth record finished a little before the one queued ahead of it.
					r.CreatedAt = base.Add(time.Duration(n)*time.Millisecond - time.Duration(n%8)*300*time.Microsecond)
					made[i] = r
					n++
				}
				pending = made
			}
			next := func() []Record {
				batch := pending[:64]
				pending = pending[64:]
				return batch
			}
			for range DefaultMaxSpans / 64 {
				if len(pending) == 0 {
					refill()
				}
				if err := put(context.Background(), next()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			written := 0
			for b.Loop() {
				if len(pending) == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				batch := next()
				if err := put(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				written += len(batch)
			}
			if m.Len() != DefaultMaxSpans {
				b.Fatalf("store holds %d records, want %d", m.Len(), DefaultMaxSpans)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(written), "ns/record")
		})
	}
}

// BenchmarkMemoryListFull reads pages from a full memory store with each filter the SDKs send.
func BenchmarkMemoryListFull(b *testing.B) {
	m := NewMemory(DefaultMaxSpans)
	base := time.Now().Add(-time.Hour)
	for i := range DefaultMaxSpans {
		r := realistic(i, false)
		r.CreatedAt = base.Add(time.Duration(i) * time.Millisecond)
		if i%100 == 0 {
			r.Status, r.Error = StatusError, "upstream 500"
		}
		if err := m.Put(context.Background(), []Record{r}); err != nil {
			b.Fatal(err)
		}
	}
	first, err := m.List(context.Background(), Filter{})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []struct {
		name string
		f    Filter
	}{
		{"all", Filter{}},
		{"page2", Filter{Cursor: first.NextCursor}},
		{"tag+user", Filter{Tags: []string{"prod"}, UserID: "user-7"}},
		{"session", Filter{SessionID: "sess-00000010"}},
		{"status=error", Filter{Status: StatusError}},
		{"slug", Filter{PromptSlug: "welcome-email", Limit: 200}},
		{"window", Filter{Start: base.Add(2 * time.Second), End: base.Add(3 * time.Second)}},
	} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := m.List(context.Background(), f.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Records) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}

// BenchmarkQueueProducer is what handing records to a live queue costs, its drain goroutine
// running and writing a full memory store meanwhile. Each producer does ~2 µs of other work
// per record, as a request does: "serial" is one producer, so the drainer is idle between
// records unless the queue batches them; "parallel" is 16 producers sharing both cores, whose
// records meet on the queue's lock, each yielding after its record as a request
// waiting on its sockets does. The "-none" runs do the work alone, to subtract. cpu-ns/op
// is the process's CPU time (every thread: producers, drainer, GC, system calls) per record,
// counted until the queued ones are written; dropped/op is the share the queue refused.
func BenchmarkQueueProducer(b *testing.B) {
	serial := func(b *testing.B, enqueue func()) {
		for b.Loop() {
			spin(pacedWork)
			enqueue()
		}
	}
	parallel := func(b *testing.B, enqueue func()) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				spin(pacedWork)
				enqueue()
				runtime.Gosched() // a request waits on its sockets: others, the drainer too, run
			}
		})
	}
	b.Run("serial", func(b *testing.B) { benchProducer(b, true, serial) })
	b.Run("serial-none", func(b *testing.B) { benchProducer(b, false, serial) })
	b.Run("parallel", func(b *testing.B) { benchProducer(b, true, parallel) })
	b.Run("parallel-none", func(b *testing.B) { benchProducer(b, false, parallel) })
}

// pacedWork is about 2 µs of spin.
const pacedWork = 1500

var spinSink atomic.Uint64

// spin stands for a request's own work: CPU the compiler cannot take out.
func spin(n int) {
	x := uint64(n) | 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	if x == 0 { // never: xorshift keeps x non-zero; the store keeps the loop
		spinSink.Store(x)
	}
}

func benchProducer(b *testing.B, useQueue bool, run func(b *testing.B, enqueue func())) {
	m := NewMemory(DefaultMaxSpans)
	old := make([]Record, DefaultMaxSpans)
	base := time.Now()
	for i := range old {
		old[i] = Record{SpanID: fmt.Sprintf("sp_e%015x", i), CreatedAt: base.Add(-time.Hour)}
	}
	if err := m.Put(context.Background(), old); err != nil {
		b.Fatal(err)
	}
	q := NewQueue(m, DefaultQueueSize)
	defer closeBenchQueue(b, q)
	tmpl := realistic(0, false)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("sp_%016x", i)
	}
	var next atomic.Uint64
	enqueue := func() {
		k := next.Add(1)
		if !useQueue {
			return
		}
		r := NewRecord()
		*r = tmpl
		r.SpanID = ids[k%uint64(len(ids))]
		r.CreatedAt = base.Add(time.Duration(k) * time.Microsecond)
		q.EnqueueOwned(r)
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	run(b, enqueue)
	b.StopTimer()
	// Count the writing of what is still queued too.
	for n := next.Load(); useQueue; {
		st := q.Stats()
		if st.Written+st.Dropped+st.Failed >= n {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	if useQueue {
		b.ReportMetric(float64(q.Dropped())/float64(b.N), "dropped/op")
	}
}

func closeBenchQueue(b *testing.B, q *Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
