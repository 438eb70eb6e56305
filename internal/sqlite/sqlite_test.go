package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/sqlite"
	"github.com/driverhub/driverhub/internal/sqlstore"
	"github.com/driverhub/driverhub/internal/storetest"
	"github.com/google/go-cmp/cmp"
)

// open opens the database at path and closes it when the test ends.
func open(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fresh opens an empty database for one conformance test.
func fresh(t testing.TB) driverhub.Store { return open(t, filepath.Join(t.TempDir(), "db.sqlite")) }

func TestStore(t *testing.T)            { storetest.Run(t, fresh) }
func TestStoreInstances(t *testing.T)   { storetest.RunInstances(t, fresh) }
func TestStoreDeployments(t *testing.T) { storetest.RunDeployments(t, fresh) }
func TestStoreMarket(t *testing.T)      { storetest.RunMarket(t, fresh) }
func TestStoreTUF(t *testing.T)         { storetest.RunTUF(t, fresh) }
func TestStoreRollouts(t *testing.T)    { storetest.RunRollouts(t, fresh) }

// migrations reads the schema_migrations table of the file at path
// without going through sqlite.Open.
func migrations(t *testing.T, path string) map[int]int64 {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if err := s.Update(ctx, func(tx driverhub.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	applied := migrations(t, path)
	if len(applied) != sqlstore.SchemaVersion() {
		t.Fatalf("schema_migrations after the first Open = %v, want versions 1-%d", applied, sqlstore.SchemaVersion())
	}

	s = open(t, path)
	var got *driverhub.Tenant
	if err := s.View(ctx, func(tx driverhub.Tx) error {
		var err error
		got, err = tx.TenantByName(ctx, tn.Name)
		return err
	}); err != nil {
		t.Fatalf("TenantByName after reopening: %v", err)
	}
	if diff := cmp.Diff(tn, got); diff != "" {
		t.Errorf("tenant after reopening (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(applied, migrations(t, path)); diff != "" {
		t.Errorf("schema_migrations changed by reopening (-before +after):\n%s", diff)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	newer := sqlstore.SchemaVersion() + 1
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, newer); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	msg := err.Error()
	for _, want := range []string{path, "newer", fmt.Sprint(newer), fmt.Sprint(sqlstore.SchemaVersion())} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

// TestPathWithURICharacters opens files whose names hold what a SQLite URI
// gives a meaning to.
func TestPathWithURICharacters(t *testing.T) {
	for _, name := range []string{"100% sure", "a#b", "what?", "a&b=c", "%41"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "db.sqlite")
			s := open(t, path)
			if err := s.Update(t.Context(), func(tx driverhub.Tx) error {
				return tx.CreateTenant(t.Context(), &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()})
			}); err != nil {
				t.Fatalf("CreateTenant: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database file not where it was asked: %v", err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), "db.sqlite") {
					t.Errorf("unexpected file %s next to the database", e.Name())
				}
			}
		})
	}
}

// TestForeignKeys checks that the writer enforces foreign keys (SQLite
// does not unless told to).
func TestForeignKeys(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db.sqlite"))
	ctx := t.Context()
	d := &driverhub.Driver{ID: driverhub.NewID(), TenantID: driverhub.NewID(), Name: "orphan", Protocol: "modbus", Runtime: "python3"}
	if err := s.Update(ctx, func(tx driverhub.Tx) error { return tx.CreateDriver(ctx, d) }); err == nil {
		t.Fatal("CreateDriver of an unknown tenant succeeded")
	}
}

// storeNow is the current time as the store keeps it.
func storeNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func TestRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s := open(t, "db.sqlite")
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("db.sqlite"); err != nil {
		t.Errorf("database file not in the working directory: %v", err)
	}
}
