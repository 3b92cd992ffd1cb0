package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned for an unknown span id.
var ErrNotFound = errors.New("span not found")

// Status values of a Record, as the SDKs send and read them.
const (
	StatusSuccess = "SUCCESS"
	StatusError   = "ERROR"
)

// Record is one span in the SDK's Span shape.
type Record struct {
	SpanID        string // sp_ + 16 hex; the key
	TraceID       string // tr_ + 16 or 32 hex
	ParentSpanID  string
	Kind          string // the SDK's spanKind (ROOT, LLM, EMBEDDING) or "" for runs
	Name          string // the OTel span name, e.g. "run welcome-email", "chat gpt-4o"
	Model         string
	Provider      string
	PromptSlug    string
	PromptVersion int
	// Input is a JSON object ({"messages": [...]} or {"text": [...]}); `{}` when content is
	// not captured.
	Input     json.RawMessage
	Output    string // empty unless content is captured (or the SDK sent it)
	Variables map[string]string
	Status    string // StatusSuccess or StatusError
	Error     string
	LatencyMs int64

	InputTokens  int64
	OutputTokens int64
	TotalTokens  int64
	// Cost is in USD; nil when the model is unpriced.
	Cost *float64

	Tags      []string
	UserID    string
	SessionID string
	CreatedAt time.Time

	Evaluations []Evaluation
}

// Evaluation is a score attached to a span (POST /api/v1/spans/{spanId}/evaluations).
type Evaluation struct {
	ID            string
	SpanID        string
	EvaluatorKey  string
	EvaluatorName string
	Value         float64
	Note          string
	Source        string
	CreatedAt     time.Time
}

// Filter selects records for List. Zero fields do not filter.
type Filter struct {
	PromptSlug string
	Status     string
	UserID     string
	SessionID  string
	// Tags: a record matches when it has every one.
	Tags []string
	// Start and End bound CreatedAt (inclusive); zero means unbounded.
	Start, End time.Time
	// Limit is the page size; 0 means the default (DefaultLimit), more than MaxLimit is capped.
	Limit int
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
}

// Page limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Page is one page of List, newest first.
type Page struct {
	Records    []Record
	NextCursor string // "" when HasMore is false
	HasMore    bool
}

// Store is a span store backend. Implementations are safe for concurrent use.
type Store interface {
	// Put inserts records; a record whose SpanID exists replaces it (evaluations kept).
	Put(ctx context.Context, recs []Record) error
	// Get returns one record with its evaluations, or ErrNotFound.
	Get(ctx context.Context, spanID string) (*Record, error)
	// List returns a page of records matching f; a malformed cursor wraps ErrBadCursor.
	List(ctx context.Context, f Filter) (Page, error)
	// AddEvaluation attaches ev to the span ev.SpanID, or returns ErrNotFound.
	AddEvaluation(ctx context.Context, ev Evaluation) error
	Close() error
}

// ErrBadCursor is returned by List for a cursor it did not issue.
var ErrBadCursor = errors.New("malformed cursor")
