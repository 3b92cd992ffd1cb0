package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var postgresDialect = dialect{
	name:        "postgres",
	placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	// The database's collation may order "sp_A" and "sp_a" otherwise; the Queue and the
	// cursors need bytewise order.
	idType: `TEXT COLLATE "C"`,
	// Any constant does: it only has to be the same for every instance creating the schema.
	schemaLock: "SELECT pg_advisory_xact_lock(7316251209143451001)",
}

// openPostgres connects a pool to dsn (a postgres:// URL or key=value string) and creates the
// schema when missing.
func openPostgres(ctx context.Context, dsn string, o sqlOptions) (*sqlStore, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: keep only that it failed.
		return nil, fmt.Errorf("postgres span store: the dsn does not parse")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres span store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres span store %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	s, err := newSQLStore(ctx, postgresDialect, pgDB{pool}, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// pgDB adapts pgxpool to sqlDB.
type pgDB struct{ pool *pgxpool.Pool }

// pgQuerier is what a pool and a transaction both offer.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgConn struct{ q pgQuerier }

func (c pgConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (c pgConn) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	return c.q.Query(ctx, query, args...)
}

func (d pgDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return pgConn{d.pool}.exec(ctx, query, args...)
}

func (d pgDB) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	return pgConn{d.pool}.query(ctx, query, args...)
}

func (d pgDB) inTx(ctx context.Context, fn func(sqlExecer) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgConn{tx}) })
}

func (d pgDB) close() error {
	d.pool.Close()
	return nil
}
