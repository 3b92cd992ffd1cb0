package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Store is the span store that GET /api/v1/spans reads (DESIGN.md section 12).
type Store struct {
	Type      string   `yaml:"type"`       // memory | sqlite | postgres
	MaxSpans  int      `yaml:"max_spans"`  // memory: the newest records kept
	Path      string   `yaml:"path"`       // sqlite: the database file
	DSN       string   `yaml:"dsn"`        // postgres: a libpq URL or key=value string
	Retention Duration `yaml:"retention"`  // sqlite, postgres: records older are deleted; 0 keeps all
	QueueSize int      `yaml:"queue_size"` // writes waiting for the backend; more are dropped and counted
}

// Store defaults and bounds.
const (
	defaultStoreMaxSpans  = 10000
	defaultStoreRetention = 720 * time.Hour
	defaultStoreQueueSize = 4096
	// maxStoreMaxSpans keeps a typo from reserving the machine's memory for spans.
	maxStoreMaxSpans  = 10_000_000
	maxStoreQueueSize = 1 << 20
)

func defaultStore() Store {
	return Store{
		Type:      "memory",
		MaxSpans:  defaultStoreMaxSpans,
		Path:      "tracegate.db",
		Retention: Duration(defaultStoreRetention),
		QueueSize: defaultStoreQueueSize,
	}
}

// Validate checks the store keys; store.Open calls it too, so a file that passes
// -check-config opens.
func (s Store) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("store."+format, args...)) }
	switch s.Type {
	case "memory":
		if s.MaxSpans <= 0 || s.MaxSpans > maxStoreMaxSpans {
			bad("max_spans %d: want 1 to %d", s.MaxSpans, maxStoreMaxSpans)
		}
	case "sqlite":
		if s.Path == "" {
			bad("path: type sqlite needs a database file")
		}
	case "postgres":
		if s.DSN == "" {
			bad("dsn: type postgres needs a connection string (is DATABASE_URL set?)")
		}
	default:
		bad("type %q: want memory, sqlite or postgres", s.Type)
	}
	if s.Retention < 0 {
		bad("retention must not be negative (0 keeps every record)")
	}
	if s.QueueSize <= 0 || s.QueueSize > maxStoreQueueSize {
		bad("queue_size %d: want 1 to %d", s.QueueSize, maxStoreQueueSize)
	}
	return errors.Join(errs...)
}

// validateInto adds the store problems to a whole-config validation.
func (s Store) validateInto(errs []error) []error {
	if err := s.Validate(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			return append(errs, j.Unwrap()...)
		}
		return append(errs, err)
	}
	return errs
}

func (s *Store) resolvePath(dir string) {
	if s.Type == "sqlite" && s.Path != "" && !filepath.IsAbs(s.Path) {
		s.Path = filepath.Join(dir, s.Path)
	}
}
