package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgresDSN is the test database, from TRACEGATE_TEST_POSTGRES_DSN (.ci/run starts one).
// Without it the tests skip, except on CI, where a skip would hide that they never ran.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TRACEGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TRACEGATE_TEST_POSTGRES_DSN is not set on CI: the postgres span store tests cannot run")
		}
		t.Skip("TRACEGATE_TEST_POSTGRES_DSN not set")
	}
	return dsn
}

// withSearchPath points dsn at schema, so each test has tables of its own.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("TRACEGATE_TEST_POSTGRES_DSN does not parse: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// freshPostgresSchema creates an empty schema, dropped when the test ends, and returns a DSN
// that uses it.
func freshPostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := postgresDSN(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "tgtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func openTestPostgres(t testing.TB, o sqlOptions) *sqlStore {
	t.Helper()
	s, err := openPostgres(context.Background(), freshPostgresSchema(t), o)
	return closedAtCleanup(t, s, err)
}

func TestPostgresSuite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore { return openTestPostgres(t, sqlOptions{}) })
}
