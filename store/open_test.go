package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracegate/tracegate/config"
)

func storeConfig(typ string) config.Store {
	return config.Store{Type: typ, MaxSpans: 100, QueueSize: 64, Retention: config.Duration(720 * time.Hour)}
}

func closeWithin(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMemory(t *testing.T) {
	q, err := Open(context.Background(), storeConfig("memory"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, q)
	if m, ok := q.backend.(*Memory); !ok || m.maxSpans != 100 {
		t.Errorf("backend %T", q.backend)
	}
}

// TestSQLiteIsDurable writes through the queue, closes, and reads the records back from a
// second open of the same file.
func TestSQLiteIsDurable(t *testing.T) {
	ctx := context.Background()
	c := storeConfig("sqlite")
	c.Path = filepath.Join(t.TempDir(), "nested", "spans.db")
	q, err := Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 10 {
		r := record(i)
		r.CreatedAt = now.Add(time.Duration(i) * time.Millisecond)
		if !q.Enqueue(r) {
			t.Fatal("refused")
		}
	}
	if err := q.AddEvaluation(ctx, Evaluation{SpanID: spanID(3), EvaluatorKey: "k", Value: 4}); err != nil {
		t.Fatal(err)
	}
	closeWithin(t, q)

	q, err = Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, q)
	if got := listAll(t, q, Filter{}, 4); len(got) != 10 || got[0] != spanID(9) {
		t.Errorf("reopened: %v", got)
	}
	if r, err := q.Get(ctx, spanID(3)); err != nil || len(r.Evaluations) != 1 || r.Evaluations[0].Value != 4 {
		t.Errorf("reopened evaluation: %v %+v", err, r)
	}
}

// TestSQLitePathIsTakenLiterally: the driver reads a URI, so '%', '?' and '#' in a file name
// must not be decoded or end the path.
func TestSQLitePathIsTakenLiterally(t *testing.T) {
	c := storeConfig("sqlite")
	c.Path = filepath.Join(t.TempDir(), "a dir", "50%25 what?#spans.db")
	q, err := Open(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, record(1))
	closeWithin(t, q)
	if _, err := os.Stat(c.Path); err != nil {
		t.Errorf("the database is not at the configured path: %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	c := storeConfig("postgres")
	c.DSN = freshPostgresSchema(t)
	// Twice: a second instance of a fleet finds the schema in place.
	for range 2 {
		q, err := Open(context.Background(), c, nil)
		if err != nil {
			t.Fatal(err)
		}
		put(t, q, record(1))
		closeWithin(t, q)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	bad := storeConfig("sqlite") // no path
	if _, err := Open(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "store.path") {
		t.Errorf("sqlite without path: %v", err)
	}
	bad = storeConfig("cassandra")
	if _, err := Open(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "store.type") {
		t.Errorf("unknown type: %v", err)
	}
	bad = storeConfig("postgres")
	bad.DSN = "postgres://tracegate:hunter2@127.0.0.1:notaport/db"
	_, err := Open(ctx, bad, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a bad dsn: %v (must fail without quoting the password)", err)
	}
	// A server that is not there fails the open, quickly, without the password.
	bad.DSN = "postgres://tracegate:hunter2@127.0.0.1:1/db?connect_timeout=5"
	_, err = Open(ctx, bad, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("no server: %v", err)
	}
	var ve interface{ Unwrap() []error }
	if err := storeConfig("memory").Validate(); err != nil || errors.As(err, &ve) {
		t.Errorf("a good config: %v", err)
	}
}
