package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no cgo, so the static binary stays
)

var sqliteDialect = dialect{
	name: "sqlite",
	// Plain "?": the driver looks each "?NNN" up by name, quadratic in a multi-row insert.
	// So no statement may use a parameter twice.
	placeholder: func(int) string { return "?" },
	idType:      "TEXT", // SQLite compares TEXT bytewise (BINARY collation) by default
}

// sqliteBusyTimeoutMs is how long a write waits for another connection's write lock.
const sqliteBusyTimeoutMs = 5000

// openSQLite opens (creating when missing) the database file at path in WAL mode.
func openSQLite(ctx context.Context, path string, o sqlOptions) (*sqlStore, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite span store directory: %w", err)
		}
	}
	// immediate transactions take the write lock at BEGIN, so two writers wait on each other
	// through busy_timeout instead of failing at their first write.
	q := url.Values{
		"_busy_timeout": {strconv.Itoa(sqliteBusyTimeoutMs)},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
		"_txlock":       {"immediate"},
	}
	// A "file:" URI: SQLite percent-decodes the path and ends it at '?' or '#'.
	uriPath := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite", "file:"+uriPath+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite span store %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite span store %s: %w", path, err)
	}
	s, err := newSQLStore(ctx, sqliteDialect, stdDB{db}, o)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// stdDB adapts database/sql to sqlDB.
type stdDB struct{ db *sql.DB }

type stdExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type stdConn struct{ c stdExecer }

func (c stdConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.c.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c stdConn) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	rows, err := c.c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{rows}, nil
}

// stdRows drops Close's error: Err reports what went wrong while reading.
type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { _ = r.Rows.Close() }

func (d stdDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return stdConn{d.db}.exec(ctx, query, args...)
}

func (d stdDB) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	return stdConn{d.db}.query(ctx, query, args...)
}

func (d stdDB) inTx(ctx context.Context, fn func(sqlExecer) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(stdConn{tx}); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

func (d stdDB) close() error { return d.db.Close() }
