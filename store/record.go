package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBadRecord is returned by Put for a record the store cannot key (no SpanID).
var ErrBadRecord = errors.New("invalid span record")

// ErrTooManyEvaluations is returned by AddEvaluation when a span already has
// MaxEvaluationsPerSpan evaluations: one span cannot grow without bound.
var ErrTooManyEvaluations = errors.New("too many evaluations for one span")

// MaxEvaluationsPerSpan bounds the evaluations one span keeps.
const MaxEvaluationsPerSpan = 100

// TimePrecision is the precision every backend keeps CreatedAt at (Postgres' timestamptz),
// so a record and a cursor read back equal to what was written.
const TimePrecision = time.Microsecond

// normalTime is t in UTC at the stored precision.
func normalTime(t time.Time) time.Time { return t.UTC().Truncate(TimePrecision) }

// normalize returns the form of r that every backend stores: UTC microsecond times, a JSON
// object for Input, a CreatedAt (now when unset), no evaluations (they live apart).
func normalize(r Record, now time.Time) (Record, error) {
	err := normalizeInPlace(&r, func() time.Time { return now })
	return r, err
}

// normalizeInPlace is normalize for a record the caller owns, without copying it; now is
// only called when the record has no CreatedAt (the clock is not free on the request path).
func normalizeInPlace(r *Record, now func() time.Time) error {
	if r.SpanID == "" {
		return fmt.Errorf("%w: span id is empty", ErrBadRecord)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	r.CreatedAt = normalTime(r.CreatedAt)
	if len(r.Input) == 0 {
		r.Input = json.RawMessage(`{}`)
	}
	r.Evaluations = nil
	return nil
}

func normalizeEvaluation(ev Evaluation, now time.Time) (Evaluation, error) {
	if ev.SpanID == "" {
		return Evaluation{}, fmt.Errorf("%w: evaluation without span id", ErrBadRecord)
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = now
	}
	if ev.ID == "" {
		ev.ID = newEvaluationID()
	}
	ev.CreatedAt = normalTime(ev.CreatedAt)
	return ev, nil
}

// newEvaluationID is "ev_" and 16 random hex digits, like the SDK's span ids.
func newEvaluationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "ev_" + hex.EncodeToString(b[:])
}

// clone is a deep copy, so a caller's later edits never reach a stored record and back.
func clone(r Record) Record {
	r.Input = slices.Clone(r.Input)
	r.Variables = maps.Clone(r.Variables)
	r.Tags = slices.Clone(r.Tags)
	if r.Cost != nil {
		c := *r.Cost
		r.Cost = &c
	}
	r.Evaluations = slices.Clone(r.Evaluations)
	return r
}

// position is a record's place in the list order.
type position struct {
	at time.Time
	id string
}

func positionOf(r *Record) position { return position{r.CreatedAt, r.SpanID} }

// compare orders positions oldest first: -1 when p comes before q.
func (p position) compare(q position) int {
	if c := p.at.Compare(q.at); c != 0 {
		return c
	}
	return strings.Compare(p.id, q.id)
}

// Cursors are "v1." + base64url("<unix microseconds>.<span id>"): opaque to clients, exact
// for the backends, since times are kept at microseconds.
const cursorPrefix = "v1."

func encodeCursor(p position) string {
	raw := strconv.FormatInt(p.at.UnixMicro(), 10) + "." + p.id
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// maxCursorLen bounds what decodeCursor reads: a span id is short, a longer cursor is not ours.
const maxCursorLen = 512

func decodeCursor(s string) (position, error) {
	body, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || len(s) > maxCursorLen {
		return position{}, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return position{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	us, id, ok := strings.Cut(string(raw), ".")
	if !ok || id == "" {
		return position{}, ErrBadCursor
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return position{}, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	return position{time.UnixMicro(n).UTC(), id}, nil
}

// query is a Filter made ready for a backend: times normalised, limit settled, cursor decoded.
type query struct {
	Filter
	limit int
	after *position // list only records before this position (newest first)
}

func prepare(f Filter) (query, error) {
	q := query{Filter: f, limit: f.Limit}
	switch {
	case q.limit <= 0:
		q.limit = DefaultLimit
	case q.limit > MaxLimit:
		q.limit = MaxLimit
	}
	if !q.Start.IsZero() {
		q.Start = normalTime(q.Start)
	}
	if !q.End.IsZero() {
		q.End = normalTime(q.End)
	}
	if f.Cursor != "" {
		p, err := decodeCursor(f.Cursor)
		if err != nil {
			return query{}, err
		}
		q.after = &p
	}
	return q, nil
}

// matches reports whether r passes every filter of q, the cursor included.
func (q *query) matches(r *Record) bool {
	switch {
	case q.PromptSlug != "" && r.PromptSlug != q.PromptSlug,
		q.Status != "" && r.Status != q.Status,
		q.UserID != "" && r.UserID != q.UserID,
		q.SessionID != "" && r.SessionID != q.SessionID,
		!q.Start.IsZero() && r.CreatedAt.Before(q.Start),
		!q.End.IsZero() && r.CreatedAt.After(q.End),
		q.after != nil && positionOf(r).compare(*q.after) >= 0:
		return false
	}
	for _, t := range q.Tags {
		if !slices.Contains(r.Tags, t) {
			return false
		}
	}
	return true
}

// page makes a Page of up to q.limit records from candidates, newest first, where one more
// candidate than the limit says that there are more.
func (q *query) page(newestFirst []Record) Page {
	p := Page{Records: newestFirst}
	if len(newestFirst) > q.limit {
		p.Records = newestFirst[:q.limit]
		p.HasMore = true
		p.NextCursor = encodeCursor(positionOf(&p.Records[q.limit-1]))
	}
	if p.Records == nil {
		p.Records = []Record{}
	}
	return p
}
