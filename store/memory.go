package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxSpans is the memory backend's bound when max_spans is unset.
const DefaultMaxSpans = 10000

// Memory keeps the newest maxSpans records in memory, evicting the oldest; nothing reaches
// disk. Safe for concurrent use.
//
// Once full it allocates nothing per record: records sit in a ring oldest first by
// (CreatedAt, SpanID), and the entry of the record evicted from the front takes the new one.
// Records mostly arrive newest last, so an insert is an append at the back; one that finished
// a little before the last shifts the few newer entries behind it.
type Memory struct {
	maxSpans int
	now      func() time.Time

	mu sync.RWMutex
	// ring holds n entries from head, oldest first; it grows by doubling up to maxSpans.
	ring    []*memEntry
	head, n int
	byID    spanIndex
	// evals are kept apart from the entries: few spans have any.
	evals map[string][]Evaluation
	// names interns the low-cardinality strings of records (model, provider, name, slug,
	// tags), so the store holds one copy of each rather than one per record.
	names map[string]string
	last  [6]string // the interned value of each interned field of the last record
}

// memEntry is a stored record; its Cost points at cost, so a priced record needs no
// allocation of its own and pins nothing of its writer's.
type memEntry struct {
	rec  Record
	cost float64
	hash uint64 // of the span id, for byID
	// evaluated says that evals has an entry for the span, so that evicting one of the many
	// spans without evaluations costs no map delete.
	evaluated bool
}

// maxInterned bounds names: past it new strings are kept as they come.
const maxInterned = 4096

// NewMemory returns a memory store bounded to maxSpans records (DefaultMaxSpans when <= 0).
func NewMemory(maxSpans int) *Memory {
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	return &Memory{
		maxSpans: maxSpans, now: time.Now,
		ring:  make([]*memEntry, min(maxSpans, 64)),
		byID:  newSpanIndex(),
		evals: make(map[string][]Evaluation),
		names: make(map[string]string),
	}
}

// slot is where the i-th oldest entry sits in the ring.
func (m *Memory) slot(i int) int {
	j := m.head + i
	if j >= len(m.ring) {
		j -= len(m.ring)
	}
	return j
}

func (m *Memory) at(i int) *memEntry { return m.ring[m.slot(i)] }

// index is where an entry at p sits (or would sit) among the n entries, oldest first.
func (m *Memory) index(p position) (int, bool) {
	lo, hi := 0, m.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if positionOf(&m.at(mid).rec).compare(p) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < m.n && positionOf(&m.at(lo).rec).compare(p) == 0
}

// insertAt is where a record at p goes: at the back unless it is older than the newest.
func (m *Memory) insertAt(p position) int {
	if m.n == 0 || positionOf(&m.at(m.n-1).rec).compare(p) < 0 {
		return m.n
	}
	i, _ := m.index(p)
	return i
}

// Put stores copies of recs, replacing records with the same SpanID and keeping their
// evaluations.
func (m *Memory) Put(_ context.Context, recs []Record) error {
	return m.put(recs, true)
}

// putOwned is Put for records the caller hands over and never changes again (the Queue's):
// their slices and maps are kept as they are.
func (m *Memory) putOwned(recs []Record) error {
	return m.put(recs, false)
}

func (m *Memory) put(recs []Record, copySlices bool) error {
	var now time.Time
	var errs []error
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.SpanID == "" || r.CreatedAt.IsZero() {
			if now.IsZero() {
				now = m.now()
			}
		}
		if r.SpanID == "" {
			_, err := normalize(*r, now)
			errs = append(errs, err)
			continue
		}
		m.insert(r, now, copySlices)
	}
	return errors.Join(errs...)
}

// insert places a copy of r, evicting the oldest record when the store is full.
func (m *Memory) insert(r *Record, now time.Time, copySlices bool) {
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	p := position{normalTime(created), r.SpanID}
	h := m.byID.hash(r.SpanID)
	var e *memEntry
	if old := m.byID.find(h, r.SpanID); old != nil {
		if positionOf(&old.rec).compare(p) == 0 {
			m.fill(old, r, p.at, copySlices) // same place: nothing moves
			return
		}
		m.removeAt(m.mustIndex(old))
		m.byID.remove(old)
		e = old // keeps its evaluations
	}
	at := m.insertAt(p)
	if m.n == m.maxSpans {
		if at == 0 {
			// Older than every record kept: it would be evicted at once.
			if e != nil && e.evaluated {
				delete(m.evals, r.SpanID)
			}
			return
		}
		oldest := m.ring[m.head]
		m.ring[m.head] = nil
		m.head = m.slot(1)
		m.n--
		at--
		m.byID.remove(oldest)
		if oldest.evaluated {
			delete(m.evals, oldest.rec.SpanID)
			oldest.evaluated = false
		}
		if e == nil {
			e = oldest
		}
	}
	if e == nil {
		e = new(memEntry)
	}
	m.fill(e, r, p.at, copySlices)
	m.grow()
	for i := m.n; i > at; i-- {
		m.ring[m.slot(i)] = m.at(i - 1)
	}
	m.ring[m.slot(at)] = e
	m.n++
	m.byID.add(h, e)
}

// fill makes e a stored copy of r: normalised as every backend stores it, names interned.
func (m *Memory) fill(e *memEntry, r *Record, created time.Time, copySlices bool) {
	e.rec = *r
	e.rec.CreatedAt = created
	e.rec.Evaluations = nil
	e.cost = 0
	if r.Cost != nil {
		e.cost = *r.Cost
		e.rec.Cost = &e.cost
	}
	switch {
	case len(r.Input) == 0 || string(r.Input) == "{}":
		e.rec.Input = emptyObject
	case copySlices:
		e.rec.Input = slices.Clone(r.Input)
	}
	for i, s := range [...]*string{&e.rec.Kind, &e.rec.Name, &e.rec.Model, &e.rec.Provider, &e.rec.PromptSlug, &e.rec.Status} {
		// Under load one model, provider and prompt follow another: the last one seen of
		// each field spares most lookups.
		if *s != m.last[i] {
			m.last[i] = m.intern(*s)
		}
		*s = m.last[i]
	}
	if copySlices {
		e.rec.Variables = maps.Clone(r.Variables)
		if r.Tags != nil {
			tags := make([]string, len(r.Tags))
			for i, t := range r.Tags {
				tags[i] = m.intern(t)
			}
			e.rec.Tags = tags
		}
	}
}

// emptyObject is the stored Input of a record without captured content; reads copy it.
var emptyObject = []byte("{}")

// intern returns the store's copy of s, made on first sight while there is room.
func (m *Memory) intern(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := m.names[s]; ok {
		return c
	}
	if len(m.names) >= maxInterned || len(s) > 128 {
		return s
	}
	c := strings.Clone(s) // never pin the buffer s was cut from
	m.names[c] = c
	return c
}

// grow makes room for one more entry while the ring is below maxSpans.
func (m *Memory) grow() {
	if m.n < len(m.ring) {
		return
	}
	ring := make([]*memEntry, min(2*len(m.ring), m.maxSpans))
	for i := range m.n {
		ring[i] = m.at(i)
	}
	m.ring, m.head = ring, 0
}

func (m *Memory) mustIndex(e *memEntry) int {
	i, _ := m.index(positionOf(&e.rec))
	return i
}

// removeAt takes out the i-th oldest entry, shifting the shorter side over it.
func (m *Memory) removeAt(i int) {
	if i < m.n-1-i {
		for j := i; j > 0; j-- {
			m.ring[m.slot(j)] = m.at(j - 1)
		}
		m.ring[m.head] = nil
		m.head = m.slot(1)
	} else {
		for j := i; j < m.n-1; j++ {
			m.ring[m.slot(j)] = m.at(j + 1)
		}
		m.ring[m.slot(m.n-1)] = nil
	}
	m.n--
}

// Get returns a copy of one record with its evaluations.
func (m *Memory) Get(_ context.Context, spanID string) (*Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.byID.lookup(spanID)
	if e == nil {
		return nil, ErrNotFound
	}
	r := clone(e.rec)
	r.Evaluations = slices.Clone(m.evals[spanID])
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
	end := m.n
	if q.after != nil {
		end, _ = m.index(*q.after)
	}
	if !q.End.IsZero() {
		// Skip what is newer than End without looking at it.
		lo, hi := 0, end
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if m.at(mid).rec.CreatedAt.After(q.End) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		end = lo
	}
	var out []Record
	if q.unfiltered() {
		out = make([]Record, 0, min(end, q.limit+1))
	}
	for i := end - 1; i >= 0 && len(out) <= q.limit; i-- {
		r := &m.at(i).rec
		if !q.Start.IsZero() && r.CreatedAt.Before(q.Start) {
			break // older ones are older still
		}
		if q.matches(r) {
			out = append(out, *r)
		}
	}
	cloneShared(out)
	return q.page(out), nil
}

// unfiltered reports whether every record before the cursor and End matches q.
func (q *query) unfiltered() bool {
	return q.PromptSlug == "" && q.Status == "" && q.UserID == "" && q.SessionID == "" && len(q.Tags) == 0 && q.Start.IsZero()
}

// cloneShared gives a page's records their own slices and maps, with one allocation for all
// their inputs, one for all their tags and one for all their costs rather than one each.
func cloneShared(recs []Record) {
	tags, priced, input := 0, 0, 0
	for i := range recs {
		tags += len(recs[i].Tags)
		input += len(recs[i].Input)
		if recs[i].Cost != nil {
			priced++
		}
	}
	tagBuf := make([]string, 0, tags)
	costs := make([]float64, 0, priced)
	inputBuf := make([]byte, 0, input)
	for i := range recs {
		r := &recs[i]
		start := len(inputBuf)
		inputBuf = append(inputBuf, r.Input...)
		r.Input = inputBuf[start:len(inputBuf):len(inputBuf)]
		r.Variables = maps.Clone(r.Variables)
		if r.Tags != nil {
			start := len(tagBuf)
			tagBuf = append(tagBuf, r.Tags...)
			r.Tags = tagBuf[start:len(tagBuf):len(tagBuf)]
		}
		if r.Cost != nil {
			costs = append(costs, *r.Cost)
			r.Cost = &costs[len(costs)-1]
		}
	}
}

// AddEvaluation attaches ev to its span.
func (m *Memory) AddEvaluation(_ context.Context, ev Evaluation) error {
	ev, err := normalizeEvaluation(ev, m.now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID.lookup(ev.SpanID)
	if e == nil {
		return ErrNotFound
	}
	if len(m.evals[ev.SpanID]) >= MaxEvaluationsPerSpan {
		return ErrTooManyEvaluations
	}
	m.evals[ev.SpanID] = append(m.evals[ev.SpanID], ev)
	e.evaluated = true
	return nil
}

// Len is the number of records held.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.n
}

// Close releases nothing: the records go with the process.
func (m *Memory) Close() error { return nil }
