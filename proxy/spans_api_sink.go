package proxy

import (
	"context"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// recordPutter takes records to store; the store's bounded write queue implements it without
// blocking (a full queue drops and counts).
type recordPutter interface {
	Put(ctx context.Context, recs []store.Record) error
}

// StoreSink turns the summaries the span recorder reports (every run, every OpenAI-compatible
// or other endpoint call, every ingested span) into span store records. It is the one place
// a surface's calls reach the store: a surface that ends its runs through spans.Run is
// recorded without code of its own.
type StoreSink struct {
	st recordPutter
}

// NewStoreSink builds the sink; st must not block (use the store's write queue).
func NewStoreSink(st recordPutter) *StoreSink { return &StoreSink{st: st} }

// Keep implements spans.Sink. A store that refuses the record has counted it; the run goes on.
func (k *StoreSink) Keep(s *spans.Summary) {
	_ = k.st.Put(context.Background(), []store.Record{recordOf(s)})
}

// emptyInput is the input of a record whose content is not captured.
var emptyInput = []byte("{}")

func recordOf(s *spans.Summary) store.Record {
	r := store.Record{
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
		CreatedAt:     s.Start.UTC(),
	}
	if s.Priced {
		cost := s.Cost
		r.Cost = &cost
	}
	if s.Failed {
		r.Status, r.Error = store.StatusError, s.Error
	}
	switch {
	case len(s.InputJSON) > 0:
		r.Input = s.InputJSON
	case len(s.Input) > 0:
		b := append(make([]byte, 0, 256), `{"messages":`...)
		b = appendLocalMessages(b, s.Input)
		r.Input = append(b, '}')
	}
	if !jsonw.IsObject(r.Input) {
		r.Input = emptyInput
	}
	return r
}
