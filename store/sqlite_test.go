package store

import (
	"context"
	"path/filepath"
	"testing"
)

func openTestSQLite(t testing.TB, o sqlOptions) *sqlStore {
	t.Helper()
	s, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), "spans.db"), o)
	return closedAtCleanup(t, s, err)
}

// closedAtCleanup fails the test on a failed open, else closes s when the test ends.
func closedAtCleanup(t testing.TB, s *sqlStore, err error) *sqlStore {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestSQLiteSuite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore { return openTestSQLite(t, sqlOptions{}) })
}
