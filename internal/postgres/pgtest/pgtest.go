// Package pgtest gives each test a fresh PostgreSQL schema in the database
// named by $DRIVERHUB_TEST_POSTGRES (see scripts/test-services.sh).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/driverhub/driverhub/internal/testenv"
)

// Env names the variable holding the test database's URL.
const Env = "DRIVERHUB_TEST_POSTGRES"

// URL returns the test database's URL. When it is unset the test is
// skipped, or fails under CI=true, where the database must be there.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		testenv.Require(t, Env+" unset: no PostgreSQL to test against (start one with scripts/test-services.sh)")
	}
	return u
}

var (
	mu  sync.Mutex
	dbs = map[string]*sql.DB{}
)

// admin returns a small pool on the base database, shared by the tests.
func admin(t testing.TB, base string) *sql.DB {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if db := dbs[base]; db != nil {
		return db
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	dbs[base] = db
	return db
}

// Fresh creates an empty schema in the database at base and returns
// base with the schema as its search_path; the schema is dropped when the
// test ends (after the cleanups registered later, such as closing stores).
func Fresh(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db := admin(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithSchema(t, base, schema)
}

// WithSchema returns base with search_path set to schema.
func WithSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
