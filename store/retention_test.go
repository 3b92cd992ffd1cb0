package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSQLiteRetention(t *testing.T) {
	runRetention(t, func(t *testing.T, o sqlOptions) *sqlStore { return openTestSQLite(t, o) })
}

func TestPostgresRetention(t *testing.T) {
	runRetention(t, func(t *testing.T, o sqlOptions) *sqlStore { return openTestPostgres(t, o) })
}

func countRows(t *testing.T, s *sqlStore, table string) int64 {
	t.Helper()
	rows, err := s.db.query(context.Background(), "SELECT count(*) FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		t.Fatalf("count %s: %v", table, rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func runRetention(t *testing.T, open func(t *testing.T, o sqlOptions) *sqlStore) {
	ctx := context.Background()
	now := time.Now()
	aged := func(i int, age time.Duration) Record {
		r := record(i)
		r.CreatedAt = now.Add(-age)
		r.Tags = []string{"prod", "old"}
		return r
	}

	t.Run("sweep deletes old records with their tags and evaluations", func(t *testing.T) {
		s := open(t, sqlOptions{})
		put(t, s, aged(1, 3*time.Hour), aged(2, 2*time.Hour), aged(3, time.Minute))
		for _, id := range []string{spanID(1), spanID(3)} {
			if err := s.AddEvaluation(ctx, Evaluation{SpanID: id, EvaluatorKey: "k", Value: 1}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.sweep(ctx, now.Add(-time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("sweep deleted %d (%v), want 2", n, err)
		}
		if _, err := s.Get(ctx, spanID(1)); !errors.Is(err, ErrNotFound) {
			t.Errorf("old span still there: %v", err)
		}
		if got := listAll(t, s, Filter{Tags: []string{"old"}}, 10); !slices.Equal(got, []string{spanID(3)}) {
			t.Errorf("after sweep: %v", got)
		}
		if tags, evals := countRows(t, s, "tracegate_span_tags"), countRows(t, s, "tracegate_evaluations"); tags != 2 || evals != 1 {
			t.Errorf("%d tag rows and %d evaluations left, want 2 and 1", tags, evals)
		}
	})

	t.Run("the sweep runs by itself", func(t *testing.T) {
		s := open(t, sqlOptions{retention: time.Hour, sweepEvery: 5 * time.Millisecond})
		put(t, s, aged(1, 2*time.Hour), aged(2, time.Minute))
		// Wait for the condition, not for a time: the deadline only ends a broken sweep.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, err := s.Get(ctx, spanID(1)); errors.Is(err, ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a record past retention was never deleted")
			}
		}
		if _, err := s.Get(ctx, spanID(2)); err != nil {
			t.Errorf("a record within retention: %v", err)
		}
	})
}
