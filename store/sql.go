package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The SQL backends (sqlite, postgres) share this file: one schema, one set of statements, one
// implementation of Store; a dialect supplies only what the two spell differently.
//
// Times are BIGINT Unix microseconds (UTC) in both, so the (created_at, span_id) order and the
// cursors are exact and the queries identical. Tags are stored twice: as a JSON array in the
// span row (read back in order) and one row per tag in tracegate_span_tags, which the
// "has every tag" filter probes by primary key.

type dialect struct {
	name string
	// placeholder is the n-th (1-based) bind parameter; statements pass an argument for
	// every placeholder, even a repeated value.
	placeholder func(n int) string
	// idType is the column type of span ids: compared bytewise, as the Queue and the cursors
	// compare them.
	idType string
	// schemaLock runs first in the schema transaction, so instances of a fleet starting
	// together do not race on CREATE ... IF NOT EXISTS; "" for none.
	schemaLock string
}

func (d dialect) schema() []string {
	id := d.idType
	return []string{
		`CREATE TABLE IF NOT EXISTS tracegate_spans (
			span_id ` + id + ` PRIMARY KEY,
			trace_id TEXT NOT NULL,
			parent_span_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			name TEXT NOT NULL,
			model TEXT NOT NULL,
			provider TEXT NOT NULL,
			prompt_slug TEXT NOT NULL,
			prompt_version BIGINT NOT NULL,
			input TEXT NOT NULL,
			output TEXT NOT NULL,
			variables TEXT NOT NULL,
			status TEXT NOT NULL,
			error TEXT NOT NULL,
			latency_ms BIGINT NOT NULL,
			input_tokens BIGINT NOT NULL,
			output_tokens BIGINT NOT NULL,
			total_tokens BIGINT NOT NULL,
			cost DOUBLE PRECISION,
			tags TEXT NOT NULL,
			user_id TEXT NOT NULL,
			session_id TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS tracegate_spans_created ON tracegate_spans (created_at, span_id)`,
		`CREATE INDEX IF NOT EXISTS tracegate_spans_prompt ON tracegate_spans (prompt_slug, created_at, span_id)`,
		`CREATE INDEX IF NOT EXISTS tracegate_spans_status ON tracegate_spans (status, created_at, span_id)`,
		`CREATE INDEX IF NOT EXISTS tracegate_spans_user ON tracegate_spans (user_id, created_at, span_id)`,
		`CREATE INDEX IF NOT EXISTS tracegate_spans_session ON tracegate_spans (session_id, created_at, span_id)`,
		`CREATE TABLE IF NOT EXISTS tracegate_span_tags (
			span_id ` + id + ` NOT NULL,
			tag TEXT NOT NULL,
			PRIMARY KEY (span_id, tag)
		)`,
		`CREATE INDEX IF NOT EXISTS tracegate_span_tags_tag ON tracegate_span_tags (tag, span_id)`,
		`CREATE TABLE IF NOT EXISTS tracegate_evaluations (
			id TEXT PRIMARY KEY,
			span_id ` + id + ` NOT NULL,
			evaluator_key TEXT NOT NULL,
			evaluator_name TEXT NOT NULL,
			value DOUBLE PRECISION NOT NULL,
			note TEXT NOT NULL,
			source TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS tracegate_evaluations_span ON tracegate_evaluations (span_id, created_at, id)`,
	}
}

// spanColumns is the column list of every span read and write, in Record field order.
var spanColumns = []string{
	"span_id", "trace_id", "parent_span_id", "kind", "name", "model", "provider", "prompt_slug",
	"prompt_version", "input", "output", "variables", "status", "error", "latency_ms",
	"input_tokens", "output_tokens", "total_tokens", "cost", "tags", "user_id", "session_id",
	"created_at",
}

const evaluationColumns = "id, span_id, evaluator_key, evaluator_name, value, note, source, created_at"

// statements are a dialect's fixed statements, built once.
type statements struct {
	getSpan                                           string
	getEvaluations, countForEvaluation, addEvaluation string
	sweepTags, sweepEvaluations, sweepSpans           string
}

// params lists placeholders from..to (1-based, inclusive), comma separated.
func (d dialect) params(from, to int) string {
	p := make([]string, 0, to-from+1)
	for n := from; n <= to; n++ {
		p = append(p, d.placeholder(n))
	}
	return strings.Join(p, ", ")
}

func (d dialect) statements() statements {
	p1 := d.placeholder(1)
	cols := strings.Join(spanColumns, ", ")
	oldSpans := "SELECT span_id FROM tracegate_spans WHERE created_at < " + p1
	return statements{
		getSpan: "SELECT " + cols + " FROM tracegate_spans WHERE span_id = " + p1,
		getEvaluations: "SELECT " + evaluationColumns + " FROM tracegate_evaluations WHERE span_id = " + p1 +
			" ORDER BY created_at, id",
		countForEvaluation: "SELECT (SELECT count(*) FROM tracegate_spans WHERE span_id = " + p1 +
			"), (SELECT count(*) FROM tracegate_evaluations WHERE span_id = " + d.placeholder(2) + ")",
		addEvaluation: "INSERT INTO tracegate_evaluations (" + evaluationColumns + ") VALUES (" + d.params(1, 8) +
			") ON CONFLICT (id) DO NOTHING",
		sweepTags:        "DELETE FROM tracegate_span_tags WHERE span_id IN (" + oldSpans + ")",
		sweepEvaluations: "DELETE FROM tracegate_evaluations WHERE span_id IN (" + oldSpans + ")",
		sweepSpans:       "DELETE FROM tracegate_spans WHERE created_at < " + p1,
	}
}

// Multi-row statements keep a batch to three statements, not three per record. putChunk rows
// of len(spanColumns) parameters, or tagChunk pairs, stay under SQLite's 32766 and Postgres'
// 65535 parameters per statement.
const (
	putChunk = 256
	tagChunk = 4096
)

// valueRows is n rows of width placeholders: "(p1, p2), (p3, p4)".
func (d dialect) valueRows(n, width int) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = "(" + d.params(i*width+1, (i+1)*width) + ")"
	}
	return strings.Join(rows, ", ")
}

// upsertSpans inserts n spans, each replacing the row with its span id.
func (d dialect) upsertSpans(n int) string {
	set := make([]string, 0, len(spanColumns)-1)
	for _, c := range spanColumns[1:] {
		set = append(set, c+" = excluded."+c)
	}
	return "INSERT INTO tracegate_spans (" + strings.Join(spanColumns, ", ") + ") VALUES " +
		d.valueRows(n, len(spanColumns)) + " ON CONFLICT (span_id) DO UPDATE SET " + strings.Join(set, ", ")
}

func (d dialect) deleteTags(n int) string {
	return "DELETE FROM tracegate_span_tags WHERE span_id IN (" + d.params(1, n) + ")"
}

// insertTags inserts n (span id, tag) pairs; a tag given twice is kept once.
func (d dialect) insertTags(n int) string {
	return "INSERT INTO tracegate_span_tags (span_id, tag) VALUES " + d.valueRows(n, 2) + " ON CONFLICT DO NOTHING"
}

// listQuery is the SELECT for one page of q: limit+1 rows, so the caller knows if there are more.
func (d dialect) listQuery(q *query) (string, []any) {
	var b strings.Builder
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.placeholder(len(args))
	}
	b.WriteString("SELECT " + strings.Join(spanColumns, ", ") + " FROM tracegate_spans s WHERE 1 = 1")
	for _, eq := range []struct{ col, val string }{
		{"prompt_slug", q.PromptSlug}, {"status", q.Status}, {"user_id", q.UserID}, {"session_id", q.SessionID},
	} {
		if eq.val != "" {
			b.WriteString(" AND s." + eq.col + " = " + arg(eq.val))
		}
	}
	for _, tag := range q.Tags {
		b.WriteString(" AND EXISTS (SELECT 1 FROM tracegate_span_tags t WHERE t.span_id = s.span_id AND t.tag = " + arg(tag) + ")")
	}
	if !q.Start.IsZero() {
		b.WriteString(" AND s.created_at >= " + arg(q.Start.UnixMicro()))
	}
	if !q.End.IsZero() {
		b.WriteString(" AND s.created_at <= " + arg(q.End.UnixMicro()))
	}
	if q.after != nil {
		at, id := arg(q.after.at.UnixMicro()), arg(q.after.id)
		b.WriteString(" AND (s.created_at, s.span_id) < (" + at + ", " + id + ")")
	}
	b.WriteString(" ORDER BY s.created_at DESC, s.span_id DESC LIMIT " + arg(q.limit+1))
	return b.String(), args
}

// sqlDB is what the shared code needs of a database: database/sql for sqlite, pgxpool for
// postgres, each behind a small adapter.
type sqlDB interface {
	sqlExecer
	// inTx runs fn in one transaction, committed when fn returns nil.
	inTx(ctx context.Context, fn func(sqlExecer) error) error
	close() error
}

type sqlExecer interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, query string, args ...any) (sqlRows, error)
}

type sqlRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// sqlStore is the Store of both SQL backends.
type sqlStore struct {
	d    dialect
	st   statements
	db   sqlDB
	now  func() time.Time
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// sqlOptions are the settings the SQL backends share.
type sqlOptions struct {
	retention time.Duration // 0 keeps every record
	// sweepEvery is how often old records are deleted; 0 derives it from retention.
	sweepEvery time.Duration
	log        *slog.Logger
}

// newSQLStore creates the schema and starts the retention sweep.
func newSQLStore(ctx context.Context, d dialect, db sqlDB, o sqlOptions) (*sqlStore, error) {
	s := &sqlStore{d: d, st: d.statements(), db: db, now: time.Now, log: o.log,
		stop: make(chan struct{}), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	err := db.inTx(ctx, func(tx sqlExecer) error {
		stmts := d.schema()
		if d.schemaLock != "" {
			stmts = append([]string{d.schemaLock}, stmts...)
		}
		for _, stmt := range stmts {
			if _, err := tx.exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create %s span store schema: %w", d.name, err)
	}
	if o.retention <= 0 {
		close(s.done)
		return s, nil
	}
	every := o.sweepEvery
	if every <= 0 {
		every = min(max(o.retention/10, time.Second), 10*time.Minute)
	}
	go s.sweepLoop(o.retention, every)
	return s, nil
}

func (s *sqlStore) sweepLoop(retention, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), max(every, time.Minute))
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		n, err := s.sweep(ctx, s.now().Add(-retention))
		cancel()
		if err != nil {
			s.log.Warn("span store retention sweep failed", "store", s.d.name, "error", err)
		} else if n > 0 {
			s.log.Debug("span store retention sweep", "store", s.d.name, "deleted", n)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// sweep deletes the records created before cutoff with their tags and evaluations.
func (s *sqlStore) sweep(ctx context.Context, cutoff time.Time) (int64, error) {
	var deleted int64
	err := s.db.inTx(ctx, func(tx sqlExecer) error {
		c := normalTime(cutoff).UnixMicro()
		for _, stmt := range []string{s.st.sweepTags, s.st.sweepEvaluations} {
			if _, err := tx.exec(ctx, stmt, c); err != nil {
				return err
			}
		}
		n, err := tx.exec(ctx, s.st.sweepSpans, c)
		deleted = n
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete spans older than %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return deleted, nil
}

// Put upserts recs in one transaction; an existing span keeps its evaluations. Of records
// with the same span id in one call, the last wins.
func (s *sqlStore) Put(ctx context.Context, recs []Record) error {
	now := s.now()
	var bad []error
	at := make(map[string]int, len(recs))
	rows := make([][]any, 0, len(recs))
	var tags []any // span id, tag, span id, tag, ...
	for i := range recs {
		r, err := normalize(recs[i], now)
		if err == nil {
			storableText(&r)
			var row []any
			if row, err = spanRow(&r); err == nil {
				if j, dup := at[r.SpanID]; dup {
					rows[j] = row
				} else {
					at[r.SpanID] = len(rows)
					rows = append(rows, row)
				}
			}
		}
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(rows) == 0 {
		return errors.Join(bad...)
	}
	for _, row := range rows {
		for _, tag := range row[len(row)-1].([]string) {
			tags = append(tags, row[0], tag)
		}
	}
	err := s.db.inTx(ctx, func(tx sqlExecer) error {
		for c := range slices.Chunk(rows, putChunk) {
			args := make([]any, 0, len(c)*len(spanColumns))
			ids := make([]any, len(c))
			for i, row := range c {
				args = append(args, row[:len(spanColumns)]...)
				ids[i] = row[0]
			}
			if _, err := tx.exec(ctx, s.d.upsertSpans(len(c)), args...); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, s.d.deleteTags(len(c)), ids...); err != nil {
				return err
			}
		}
		for c := range slices.Chunk(tags, 2*tagChunk) {
			if _, err := tx.exec(ctx, s.d.insertTags(len(c)/2), c...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put %d spans into %s: %w", len(rows), s.d.name, err)
	}
	return errors.Join(bad...)
}

// storableText replaces what Postgres' TEXT refuses (NUL bytes, invalid UTF-8) with U+FFFD in
// r's strings, so that one odd record cannot fail the batch it was written in. SQLite gets the
// same, so the two read back alike.
func storableText(r *Record) {
	for _, f := range []*string{&r.SpanID, &r.TraceID, &r.ParentSpanID, &r.Kind, &r.Name, &r.Model,
		&r.Provider, &r.PromptSlug, &r.Output, &r.Status, &r.Error, &r.UserID, &r.SessionID} {
		*f = textSafe(*f)
	}
	if in := string(r.Input); textSafe(in) != in {
		r.Input = json.RawMessage(textSafe(in))
	}
	if slices.ContainsFunc(r.Tags, func(t string) bool { return textSafe(t) != t }) {
		tags := make([]string, len(r.Tags))
		for i, t := range r.Tags {
			tags[i] = textSafe(t)
		}
		r.Tags = tags
	}
}

func textSafe(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// spanRow is r as the upsert's arguments, in spanColumns order, and then its tags.
func spanRow(r *Record) ([]any, error) {
	vars, tags := "", ""
	if len(r.Variables) > 0 {
		b, err := json.Marshal(r.Variables)
		if err != nil {
			return nil, fmt.Errorf("span %q variables: %w", r.SpanID, err)
		}
		vars = string(b)
	}
	if len(r.Tags) > 0 {
		b, err := json.Marshal(r.Tags)
		if err != nil {
			return nil, fmt.Errorf("span %q tags: %w", r.SpanID, err)
		}
		tags = string(b)
	}
	return []any{
		r.SpanID, r.TraceID, r.ParentSpanID, r.Kind, r.Name, r.Model, r.Provider, r.PromptSlug,
		int64(r.PromptVersion), string(r.Input), r.Output, vars, r.Status, r.Error, r.LatencyMs,
		r.InputTokens, r.OutputTokens, r.TotalTokens, r.Cost, tags, r.UserID, r.SessionID,
		r.CreatedAt.UnixMicro(),
		r.Tags,
	}, nil
}

// scanSpan reads one row of spanColumns.
func scanSpan(rows sqlRows) (Record, error) {
	var (
		r                  Record
		version, createdAt int64
		input, vars, tags  string
	)
	err := rows.Scan(&r.SpanID, &r.TraceID, &r.ParentSpanID, &r.Kind, &r.Name, &r.Model, &r.Provider,
		&r.PromptSlug, &version, &input, &r.Output, &vars, &r.Status, &r.Error, &r.LatencyMs,
		&r.InputTokens, &r.OutputTokens, &r.TotalTokens, &r.Cost, &tags, &r.UserID, &r.SessionID, &createdAt)
	if err != nil {
		return Record{}, err
	}
	r.PromptVersion = int(version)
	r.Input = json.RawMessage(input)
	r.CreatedAt = time.UnixMicro(createdAt).UTC()
	if vars != "" {
		if err := json.Unmarshal([]byte(vars), &r.Variables); err != nil {
			return Record{}, fmt.Errorf("span %q variables: %w", r.SpanID, err)
		}
	}
	if tags != "" {
		if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
			return Record{}, fmt.Errorf("span %q tags: %w", r.SpanID, err)
		}
	}
	return r, nil
}

// Get returns one record with its evaluations, oldest first.
func (s *sqlStore) Get(ctx context.Context, spanID string) (*Record, error) {
	spanID = textSafe(spanID)
	recs, err := s.spans(ctx, s.st.getSpan, spanID)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, ErrNotFound
	}
	r := &recs[0]
	rows, err := s.db.query(ctx, s.st.getEvaluations, spanID)
	if err != nil {
		return nil, fmt.Errorf("read evaluations of %q: %w", spanID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev Evaluation
		var at int64
		if err := rows.Scan(&ev.ID, &ev.SpanID, &ev.EvaluatorKey, &ev.EvaluatorName, &ev.Value, &ev.Note, &ev.Source, &at); err != nil {
			return nil, fmt.Errorf("read evaluations of %q: %w", spanID, err)
		}
		ev.CreatedAt = time.UnixMicro(at).UTC()
		r.Evaluations = append(r.Evaluations, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read evaluations of %q: %w", spanID, err)
	}
	return r, nil
}

func (s *sqlStore) spans(ctx context.Context, query string, args ...any) ([]Record, error) {
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read spans from %s: %w", s.d.name, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanSpan(rows)
		if err != nil {
			return nil, fmt.Errorf("read spans from %s: %w", s.d.name, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read spans from %s: %w", s.d.name, err)
	}
	return out, nil
}

// List returns a page newest first; records carry no evaluations (Get has them).
func (s *sqlStore) List(ctx context.Context, f Filter) (Page, error) {
	q, err := prepare(f)
	if err != nil {
		return Page{}, err
	}
	// Stored text went through textSafe: so do the values compared with it.
	for _, f := range []*string{&q.PromptSlug, &q.Status, &q.UserID, &q.SessionID} {
		*f = textSafe(*f)
	}
	q.Tags = slices.Clone(q.Tags)
	for i := range q.Tags {
		q.Tags[i] = textSafe(q.Tags[i])
	}
	if q.after != nil {
		q.after.id = textSafe(q.after.id)
	}
	stmt, args := s.d.listQuery(&q)
	recs, err := s.spans(ctx, stmt, args...)
	if err != nil {
		return Page{}, err
	}
	return q.page(recs), nil
}

// AddEvaluation attaches ev to its span, in one transaction with the checks.
func (s *sqlStore) AddEvaluation(ctx context.Context, ev Evaluation) error {
	ev, err := normalizeEvaluation(ev, s.now())
	if err != nil {
		return err
	}
	for _, f := range []*string{&ev.ID, &ev.SpanID, &ev.EvaluatorKey, &ev.EvaluatorName, &ev.Note, &ev.Source} {
		*f = textSafe(*f)
	}
	return s.db.inTx(ctx, func(tx sqlExecer) error {
		rows, err := tx.query(ctx, s.st.countForEvaluation, ev.SpanID, ev.SpanID)
		if err != nil {
			return fmt.Errorf("add evaluation: %w", err)
		}
		var spans, evals int64
		if rows.Next() {
			err = rows.Scan(&spans, &evals)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		switch {
		case err != nil:
			return fmt.Errorf("add evaluation: %w", err)
		case spans == 0:
			return ErrNotFound
		case evals >= MaxEvaluationsPerSpan:
			return ErrTooManyEvaluations
		}
		_, err = tx.exec(ctx, s.st.addEvaluation, ev.ID, ev.SpanID, ev.EvaluatorKey, ev.EvaluatorName,
			ev.Value, ev.Note, ev.Source, ev.CreatedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("add evaluation: %w", err)
		}
		return nil
	})
}

// Close stops the retention sweep and closes the database.
func (s *sqlStore) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.db.close()
}
