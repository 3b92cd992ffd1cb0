package proxy

import (
	"sync"

	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// recordQueue takes records to store without ever blocking; *store.Queue implements it (a
// full queue drops and counts). It keeps the record it is handed: the sink builds each one
// for it alone, so the request path copies nothing.
type recordQueue interface {
	EnqueueOwned(r *store.Record) bool
}

// StoreSink turns the summaries the span recorder reports (every run, every OpenAI-compatible
// or other endpoint call, every ingested span) into span store records. It is the one place
// a surface's calls reach the store: a surface that ends its runs through spans.Run is
// recorded without code of its own.
type StoreSink struct {
	q recordQueue
}

// NewStoreSink builds the sink over the store's write queue.
func NewStoreSink(q recordQueue) *StoreSink { return &StoreSink{q: q} }

// Keep implements spans.Sink. A record the queue refuses is counted there; the run goes on.
// s is valid only during Keep (the recorder reuses it): the record copies its fields, and
// keeps only what they refer to (immutable strings, the caller's slices and maps).
func (k *StoreSink) Keep(s *spans.Summary) {
	r := store.NewRecord()
	fillRecord(r, s)
	k.q.EnqueueOwned(r)
}

// emptyInput is the input of a record whose content is not captured.
var emptyInput = []byte("{}")

// fillRecord makes *r the record of s, in place: a Record is a few hundred bytes.
func fillRecord(r *store.Record, s *spans.Summary) {
	*r = store.Record{
		SpanID:        s.SpanID,
		TraceID:       s.TraceID,
		ParentSpanID:  s.ParentSpanID,
		Kind:          s.Kind,
		Name:          s.Name,
		Model:         s.Model,
		Provider:      s.ProviderKind,
		PromptSlug:    s.Slug,
		PromptVersion: s.Version,
		Input:         emptyInput,
		Output:        s.Output,
		Variables:     s.Variables,
		Status:        store.StatusSuccess,
		LatencyMs:     s.Latency.Milliseconds(),
		InputTokens:   s.Usage.InputTokens,
		OutputTokens:  s.Usage.OutputTokens,
		TotalTokens:   s.Usage.TotalTokens(),
		Tags:          s.Tags,
		UserID:        s.UserID,
		SessionID:     s.SessionID,
		// Created when it was recorded, at its end: newest first lists in the order calls finished.
		CreatedAt: s.Start.Add(s.Latency).UTC(),
	}
	if s.Priced {
		r.Cost = keptCost(s.Cost) // not &s.Cost: s is reused once Keep returns
	}
	if s.Failed {
		r.Status, r.Error = store.StatusError, s.Error
	}
	// Both sources are objects already: InputJSON is re-encoded from a parsed payload object,
	// and the messages are written here; no validation pass on the request goroutine.
	switch {
	case len(s.InputJSON) > 0:
		r.Input = s.InputJSON
	case len(s.Input) > 0:
		b := append(make([]byte, 0, 256), `{"messages":`...)
		b = appendLocalMessages(b, s.Input)
		r.Input = append(b, '}')
	default:
		r.Input = emptyInput
	}
}

// costSlab gives records' costs a home: Record.Cost is a pointer, and a float of its own per
// priced run would be an allocation on the request path. A slab is one allocation per
// len(vals) priced runs, handed out element by element and never written again, and lives
// as long as any record points into it (the memory store copies the value out when it keeps
// a record; the others drop the record once written).
type costSlab struct {
	vals [64]float64
	n    int
}

var costSlabs = sync.Pool{New: func() any { return new(costSlab) }}

func keptCost(v float64) *float64 {
	s := costSlabs.Get().(*costSlab)
	p := &s.vals[s.n]
	*p = v
	if s.n++; s.n < len(s.vals) {
		costSlabs.Put(s) // a full slab is left to the records pointing into it
	}
	return p
}
