package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/sqlite"
	"github.com/driverhub/driverhub/internal/sqlstore"
	"github.com/driverhub/driverhub/internal/sqlstore/migrations"
)

// backend is one kind of database the store runs on.
type backend struct {
	dialect sqlstore.Dialect
	// create makes an empty database for the test and returns its address.
	create func(t *testing.T) string
	// raw opens a pool on the database without migrating it.
	raw func(addr string) (*sql.DB, error)
	// open opens the store as the server does, migrating to the latest version.
	open func(ctx context.Context, addr string) (*sqlstore.Store, error)
}

var backends = []backend{
	{
		dialect: sqlite.Dialect,
		create:  func(t *testing.T) string { return filepath.Join(t.TempDir(), "db.sqlite") },
		raw:     func(path string) (*sql.DB, error) { return sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)") },
		open:    sqlite.Open,
	},
	{
		dialect: postgres.Dialect,
		create:  func(t *testing.T) string { return pgtest.Fresh(t, pgtest.URL(t)) },
		raw:     func(dsn string) (*sql.DB, error) { return sql.Open("pgx", dsn) },
		open:    postgres.Open,
	},
}

// unmigrated creates an empty database and returns a pool on it and a
// store over that pool that has applied no migration.
func (b backend) unmigrated(t *testing.T) (string, *sql.DB, *sqlstore.Store) {
	t.Helper()
	addr := b.create(t)
	db, err := b.raw(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return addr, db, sqlstore.Unmigrated(db, b.dialect)
}

// bind writes q's placeholders as the dialect wants them.
func (b backend) bind(q string) string {
	if !b.dialect.NumberedParams {
		return q
	}
	var out strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&out, "$%d", n)
			continue
		}
		out.WriteRune(c)
	}
	return out.String()
}

// schemaVersion reads the latest version recorded in db.
func schemaVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRowContext(t.Context(), `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrationsStepByStep applies the released migrations one version at
// a time, from an empty database to the latest, on SQLite and PostgreSQL,
// and checks that after each version both have the same tables, columns,
// keys and indexes: the two dialects' files describe one schema.
func TestMigrationsStepByStep(t *testing.T) {
	schemas := map[string][][]string{} // dialect → schema after each version
	for _, b := range backends {
		t.Run(b.dialect.Name, func(t *testing.T) {
			_, db, s := b.unmigrated(t)
			for v := 1; v <= sqlstore.SchemaVersion(); v++ {
				if err := s.MigrateTo(t.Context(), migrations.FS, v); err != nil {
					t.Fatalf("from version %d to %d: %v", v-1, v, err)
				}
				if got := schemaVersion(t, db); got != v {
					t.Fatalf("schema_migrations says version %d after migrating to %d", got, v)
				}
				schemas[b.dialect.Name] = append(schemas[b.dialect.Name], schemaOf(t, db, b.dialect.Name))
			}
		})
	}
	lite, pg := schemas["sqlite"], schemas["postgres"]
	if len(lite) != sqlstore.SchemaVersion() || len(pg) != sqlstore.SchemaVersion() {
		t.Skip("the two dialects' schemas are compared only when both migrated")
	}
	for v := range lite {
		if diff := cmp.Diff(lite[v], pg[v]); diff != "" {
			t.Errorf("schema at version %d (-sqlite +postgres):\n%s", v+1, diff)
		}
	}
}

// TestUpgradeFromEveryVersion opens, as the server does, a database left
// at each earlier version with rows written when it was at version 1:
// the open brings it to the latest version and the rows read back, the
// driver's search text filled in by the migration that added it and the
// token still without an expiry.
func TestUpgradeFromEveryVersion(t *testing.T) {
	for _, b := range backends {
		for n := 1; n < sqlstore.SchemaVersion(); n++ {
			t.Run(fmt.Sprintf("%s from %d", b.dialect.Name, n), func(t *testing.T) {
				ctx := t.Context()
				addr, db, s := b.unmigrated(t)
				if err := s.MigrateTo(ctx, migrations.FS, 1); err != nil {
					t.Fatal(err)
				}
				old := writeVersion1Rows(t, b, db)
				if err := s.MigrateTo(ctx, migrations.FS, n); err != nil {
					t.Fatal(err)
				}
				upgraded, err := b.open(ctx, addr)
				if err != nil {
					t.Fatalf("opening a database at version %d: %v", n, err)
				}
				defer upgraded.Close()
				if got := schemaVersion(t, db); got != sqlstore.SchemaVersion() {
					t.Errorf("version %d after opening, want %d", got, sqlstore.SchemaVersion())
				}
				checkVersion1Rows(t, upgraded, old)
			})
		}
	}
}

// version1Rows are rows written with the columns of schema version 1.
type version1Rows struct {
	tenant    *driverhub.Tenant
	driver    *driverhub.Driver
	tokenHash string
}

func writeVersion1Rows(t *testing.T, b backend, db *sql.DB) version1Rows {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := version1Rows{
		tenant: &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: now},
		driver: &driverhub.Driver{ID: driverhub.NewID(), Name: "ModbusReader", Protocol: "modbus", Runtime: "python3",
			CPUArch: "amd64", Description: "Reads Modbus TCP registers", CreatedAt: now, UpdatedAt: now},
		tokenHash: driverhub.NewSecret("", 32),
	}
	r.driver.TenantID = r.tenant.ID
	userID, at := driverhub.NewID(), now.UnixMicro()
	for _, ins := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, []any{r.tenant.ID, r.tenant.Name, at}},
		{`INSERT INTO users (id, tenant_id, username, role, system_admin, password_hash, created_at, updated_at)
			VALUES (?, ?, 'admin', 'admin', FALSE, 'x', ?, ?)`, []any{userID, r.tenant.ID, at, at}},
		{`INSERT INTO tokens (id, tenant_id, user_id, name, role, hash, created_at) VALUES (?, ?, ?, 'ci', 'admin', ?, ?)`,
			[]any{driverhub.NewID(), r.tenant.ID, userID, r.tokenHash, at}},
		{`INSERT INTO drivers (id, tenant_id, name, protocol, runtime, cpu_arch, builtin, description, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?)`, []any{r.driver.ID, r.tenant.ID, r.driver.Name, r.driver.Protocol,
			r.driver.Runtime, r.driver.CPUArch, r.driver.Description, at, at}},
	} {
		if _, err := db.ExecContext(t.Context(), b.bind(ins.q), ins.args...); err != nil {
			t.Fatalf("%s: %v", ins.q, err)
		}
	}
	return r
}

func checkVersion1Rows(t *testing.T, s *sqlstore.Store, want version1Rows) {
	t.Helper()
	ctx := t.Context()
	err := s.View(ctx, func(tx driverhub.Tx) error {
		tn, err := tx.TenantByName(ctx, want.tenant.Name)
		if err != nil {
			return fmt.Errorf("TenantByName: %w", err)
		}
		if diff := cmp.Diff(want.tenant, tn); diff != "" {
			t.Errorf("tenant (-written +read):\n%s", diff)
		}
		tok, err := tx.TokenByHash(ctx, want.tokenHash)
		if err != nil {
			return fmt.Errorf("TokenByHash: %w", err)
		}
		if tok.ExpiresAt != nil {
			t.Errorf("a token from before expiry existed expires at %v", tok.ExpiresAt)
		}
		found, err := tx.ListDrivers(ctx, want.tenant.ID, driverhub.DriverFilter{Q: "modbus tcp"}, driverhub.Page{Limit: 10})
		if err != nil {
			return fmt.Errorf("ListDrivers: %w", err)
		}
		if diff := cmp.Diff([]*driverhub.Driver{want.driver}, found.Items); diff != "" {
			t.Errorf("drivers whose description holds \"modbus tcp\" (-want +got):\n%s", diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedMigrationLeavesNothing runs a file whose second statement
// fails: its first statement is undone and its version not recorded, so
// the next start runs the whole file again.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	files := fstest.MapFS{}
	for _, b := range backends {
		files[b.dialect.Name+"/0001_kept.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE kept (x BIGINT);\nCREATE TABLE kept_too (x BIGINT);\n")}
		files[b.dialect.Name+"/0002_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE undone (x BIGINT);\nINSERT INTO missing VALUES (1);\n")}
	}
	for _, b := range backends {
		t.Run(b.dialect.Name, func(t *testing.T) {
			_, db, s := b.unmigrated(t)
			err := s.MigrateTo(t.Context(), files, 2)
			if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
				t.Fatalf("migrating through a broken file: error %v, want one naming 0002_broken.sql", err)
			}
			if v := schemaVersion(t, db); v != 1 {
				t.Errorf("schema version %d after the failure, want 1", v)
			}
			for table, want := range map[string]bool{"kept": true, "kept_too": true, "undone": false} {
				_, err := db.ExecContext(t.Context(), "SELECT x FROM "+table)
				if got := err == nil; got != want {
					t.Errorf("table %s exists: %v, want %v (%v)", table, got, want, err)
				}
			}
		})
	}
}

// TestUnknownDialectRefused opens a store whose dialect has no directory.
func TestUnknownDialectRefused(t *testing.T) {
	files := fstest.MapFS{"sqlite/0001_a.sql": {Data: []byte("SELECT 1;")}}
	d := sqlite.Dialect
	d.Name = "oracle"
	_, db, _ := backends[0].unmigrated(t)
	err := sqlstore.Unmigrated(db, d).MigrateTo(t.Context(), files, 1)
	if err == nil || !strings.Contains(err.Error(), `"oracle"`) {
		t.Errorf("migrating with an unknown dialect: error %v, want one naming it", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE t (x BIGINT);")}
	for _, c := range []struct {
		name  string
		files []string
		want  string // in the error; empty when the set loads
	}{
		{"two dialects in step", []string{"sqlite/0001_a.sql", "sqlite/0002_b.sql", "postgres/0001_a.sql", "postgres/0002_b.sql"}, ""},
		{"gap", []string{"sqlite/0001_a.sql", "sqlite/0003_c.sql"}, "sqlite/0003_c.sql is version 3 after version 1"},
		{"not starting at 1", []string{"sqlite/0002_b.sql"}, "sqlite/0002_b.sql is version 2 after version 0"},
		{"duplicate", []string{"sqlite/0001_a.sql", "sqlite/0002_b.sql", "sqlite/0002_c.sql"}, "sqlite/0002_b.sql and sqlite/0002_c.sql are both version 2"},
		{"dialect behind", []string{"sqlite/0001_a.sql", "sqlite/0002_b.sql", "postgres/0001_a.sql"}, "postgres has no version 2, which sqlite has (sqlite/0002_b.sql)"},
		{"dialect ahead", []string{"sqlite/0001_a.sql", "postgres/0001_a.sql", "postgres/0002_b.sql"}, "sqlite has no version 2, which postgres has (postgres/0002_b.sql)"},
		{"names differ", []string{"sqlite/0001_a.sql", "postgres/0001_b.sql"}, "version 1 is postgres/0001_b.sql but sqlite/0001_a.sql"},
		{"bad name", []string{"sqlite/0001_a.sql", "sqlite/2_b.sql"}, "sqlite/2_b.sql: a migration's file name must be NNNN_name.sql"},
		{"not .sql", []string{"sqlite/0001_a.sql", "sqlite/0002_b.sql.orig"}, "sqlite/0002_b.sql.orig: a migration's file name"},
		{"empty dialect", []string{"sqlite/0001_a.sql", "postgres/"}, "postgres holds no migration"},
		{"stray file", []string{"sqlite/0001_a.sql", "README"}, "README is not a dialect's directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := fstest.MapFS{}
			for _, f := range c.files {
				if dir, ok := strings.CutSuffix(f, "/"); ok {
					files[dir] = &fstest.MapFile{Mode: fs.ModeDir}
				} else {
					files[f] = file
				}
			}
			latest, err := sqlstore.LoadMigrations(files)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case c.want == "" && latest != 2:
				t.Errorf("latest version %d, want 2", latest)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	empty := fstest.MapFS{"sqlite/0001_a.sql": file, "sqlite/0002_b.sql": {Data: []byte("\n  \n")}}
	if _, err := sqlstore.LoadMigrations(empty); err == nil || !strings.Contains(err.Error(), "sqlite/0002_b.sql is empty") {
		t.Errorf("an empty file: error %v, want one saying it is empty", err)
	}
}

// TestReleasedMigrations checks the embedded files: every dialect has
// every version, and SchemaVersion counts them.
func TestReleasedMigrations(t *testing.T) {
	latest, err := sqlstore.LoadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if latest != sqlstore.SchemaVersion() {
		t.Errorf("SchemaVersion() = %d, the files hold %d versions", sqlstore.SchemaVersion(), latest)
	}
	for _, b := range backends {
		entries, err := fs.ReadDir(migrations.FS, b.dialect.Name)
		if err != nil || len(entries) != latest {
			t.Errorf("%s: %d files (%v), want %d", b.dialect.Name, len(entries), err, latest)
		}
	}
}
