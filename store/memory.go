package store

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"
)

// DefaultMaxSpans is the memory backend's bound when max_spans is unset.
const DefaultMaxSpans = 10000

// Memory keeps the newest maxSpans records in memory, evicting the oldest; nothing reaches
// disk. Safe for concurrent use.
type Memory struct {
	maxSpans int
	now      func() time.Time

	mu sync.RWMutex
	// order holds every record oldest first by (CreatedAt, SpanID), so eviction takes the
	// front and List walks from the back; new spans are the newest and append.
	order []*memEntry
	byID  map[string]*memEntry
}

type memEntry struct {
	rec   Record
	evals []Evaluation
}

// NewMemory returns a memory store bounded to maxSpans records (DefaultMaxSpans when <= 0).
func NewMemory(maxSpans int) *Memory {
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	return &Memory{maxSpans: maxSpans, now: time.Now, byID: make(map[string]*memEntry)}
}

// index is where an entry at p sits (or would sit) in m.order.
func (m *Memory) index(p position) (int, bool) {
	return slices.BinarySearchFunc(m.order, p, func(e *memEntry, p position) int {
		return positionOf(&e.rec).compare(p)
	})
}

// Put stores recs, replacing records with the same SpanID and keeping their evaluations.
func (m *Memory) Put(_ context.Context, recs []Record) error {
	now := m.now()
	var errs []error
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		r, err := normalize(clone(recs[i]), now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e := &memEntry{rec: r}
		if old, ok := m.byID[r.SpanID]; ok {
			e.evals = old.evals
			m.remove(old)
		}
		at, _ := m.index(positionOf(&e.rec))
		m.order = slices.Insert(m.order, at, e)
		m.byID[r.SpanID] = e
		for len(m.order) > m.maxSpans {
			m.remove(m.order[0])
		}
	}
	return errors.Join(errs...)
}

func (m *Memory) remove(e *memEntry) {
	switch i, ok := m.index(positionOf(&e.rec)); {
	case !ok:
	case i == 0:
		// Eviction, the common case once full: O(1), and appends reclaim the front.
		m.order[0] = nil
		m.order = m.order[1:]
	default:
		m.order = slices.Delete(m.order, i, i+1)
	}
	delete(m.byID, e.rec.SpanID)
}

// Get returns a copy of one record with its evaluations.
func (m *Memory) Get(_ context.Context, spanID string) (*Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[spanID]
	if !ok {
		return nil, ErrNotFound
	}
	r := clone(e.rec)
	r.Evaluations = slices.Clone(e.evals)
	return &r, nil
}

// List returns a page newest first; records carry no evaluations (Get has them).
func (m *Memory) List(_ context.Context, f Filter) (Page, error) {
	q, err := prepare(f)
	if err != nil {
		return Page{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	end := len(m.order)
	if q.after != nil {
		end, _ = m.index(*q.after)
	}
	if !q.End.IsZero() {
		// Skip what is newer than End without looking at it.
		end = min(end, sort.Search(len(m.order), func(i int) bool { return m.order[i].rec.CreatedAt.After(q.End) }))
	}
	var out []Record
	for i := end - 1; i >= 0 && len(out) <= q.limit; i-- {
		r := &m.order[i].rec
		if !q.Start.IsZero() && r.CreatedAt.Before(q.Start) {
			break // older ones are older still
		}
		if q.matches(r) {
			out = append(out, clone(*r))
		}
	}
	return q.page(out), nil
}

// AddEvaluation attaches ev to its span.
func (m *Memory) AddEvaluation(_ context.Context, ev Evaluation) error {
	ev, err := normalizeEvaluation(ev, m.now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[ev.SpanID]
	if !ok {
		return ErrNotFound
	}
	if len(e.evals) >= MaxEvaluationsPerSpan {
		return ErrTooManyEvaluations
	}
	e.evals = append(e.evals, ev)
	return nil
}

// Len is the number of records held.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.order)
}

// Close releases nothing: the records go with the process.
func (m *Memory) Close() error { return nil }
