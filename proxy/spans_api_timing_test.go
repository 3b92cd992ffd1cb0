package proxy

import (
	"context"
	"testing"

	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// BenchmarkRunAPIStore is BenchmarkRunAPI with the span store off and on: with it on, every
// run ends by handing a record to the store's write queue, which a goroutine drains into the
// memory backend. Compare the two sub-benchmarks' ns/op and allocs/op.
func BenchmarkRunAPIStore(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			var q *store.Queue
			client, stop := benchServerWith(b, func(srv *Server, rec *spans.Recorder) {
				if on {
					q = store.NewQueue(store.NewMemory(0), 0)
					rec.SetSink(NewStoreSink(q))
					srv.EnableSpansAPI(q, rec, false)
				}
			})
			defer stop()
			benchRoundTrip(b, client, "http://tracegate/api/v1/prompts/greet/run", []byte(`{"version":1,"variables":{"name":"Alice"}}`))
			if q != nil {
				b.StopTimer()
				_ = q.Close(context.Background())
				if st := q.Stats(); st.Dropped != 0 || st.Written == 0 {
					b.Errorf("store queue %+v: want every run written", st)
				}
			}
		})
	}
}

// BenchmarkStoreSinkKeep is the sink's own cost per run: building the record and queueing it.
func BenchmarkStoreSinkKeep(b *testing.B) {
	q := store.NewQueue(store.NewMemory(1000), 1<<16)
	defer q.Close(context.Background())
	sink := NewStoreSink(q)
	sum := &spans.Summary{SpanID: "sp_0123456789abcdef", TraceID: "tr_0123456789abcdef", Name: "run greet", Model: "gpt-4o-mini",
		ProviderKind: "openai", Slug: "greet", Version: 1, Tags: []string{"a"}, UserID: "u", SessionID: "s", Priced: true, Cost: 1e-5}
	b.ReportAllocs()
	for b.Loop() {
		sink.Keep(sum)
	}
}
