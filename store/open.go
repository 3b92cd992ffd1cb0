package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tracegate/tracegate/config"
)

// Open validates c (with the same code as the config file's validation), opens its backend
// and puts the write queue in front of it. The caller owns the Queue: Close(ctx) it at
// shutdown to flush. log receives the backend's background problems (retention sweeps,
// writes that failed every retry); nil discards them.
func Open(ctx context.Context, c config.Store, log *slog.Logger) (*Queue, error) {
	backend, err := OpenBackend(ctx, c, log)
	if err != nil {
		return nil, err
	}
	q := NewQueue(backend, c.QueueSize)
	q.log = log
	return q, nil
}

// OpenBackend validates c and opens its backend without a queue in front.
func OpenBackend(ctx context.Context, c config.Store, log *slog.Logger) (Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o := sqlOptions{retention: c.Retention.D(), log: log}
	switch c.Type {
	case "memory":
		return NewMemory(c.MaxSpans), nil
	case "sqlite":
		return openSQLite(ctx, c.Path, o)
	case "postgres":
		return openPostgres(ctx, c.DSN, o)
	}
	// Validate rejects every other type; this is a programming error, not a config one.
	return nil, fmt.Errorf("span store type %q has no backend", c.Type)
}
