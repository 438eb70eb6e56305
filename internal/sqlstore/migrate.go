package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driverhub/driverhub/internal/sqlstore/migrations"
)

// migration is one version of the schema as one dialect runs it.
type migration struct {
	version int
	name    string // the file's name after the number, the same in every dialect
	file    string // dialect/NNNN_name.sql, for messages
	sql     string
}

// migrationSet is every dialect's migrations, versions 1 to latest.
type migrationSet struct {
	byDialect map[string][]migration
	latest    int
}

// released is the set this build embeds. A gap, a duplicate or dialects
// that disagree is a defect of the build itself, like a regular expression
// that does not compile, so it stops the program as it starts (and every
// test of a package that stores anything).
var released = func() migrationSet {
	set, err := loadMigrations(migrations.FS)
	if err != nil {
		panic(err)
	}
	return set
}()

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return released.latest }

// migrationFile is the name of a migration: its version and what it does.
var migrationFile = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// loadMigrations reads one directory per dialect from fsys and checks that
// each runs versions 1, 2, 3… and that every dialect has the same versions
// under the same names.
func loadMigrations(fsys fs.FS) (migrationSet, error) {
	dirs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return migrationSet{}, fmt.Errorf("migrations: %w", err)
	}
	set := migrationSet{byDialect: map[string][]migration{}}
	var first string
	for _, d := range dirs {
		if !d.IsDir() {
			return migrationSet{}, fmt.Errorf("migrations: %s is not a dialect's directory", d.Name())
		}
		ms, err := loadDialect(fsys, d.Name())
		if err != nil {
			return migrationSet{}, err
		}
		if first == "" {
			first, set.latest = d.Name(), len(ms)
		} else if err := sameVersions(first, set.byDialect[first], d.Name(), ms); err != nil {
			return migrationSet{}, err
		}
		set.byDialect[d.Name()] = ms
	}
	if first == "" {
		return migrationSet{}, fmt.Errorf("migrations: no dialect directory")
	}
	return set, nil
}

// loadDialect reads the migrations of one dialect, in order of version.
func loadDialect(fsys fs.FS, dialect string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dialect) // sorted by name, so by version
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		file := path.Join(dialect, e.Name())
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migrations: %s: a migration's file name must be NNNN_name.sql (four digits, then lower-case letters, digits and _)", file)
		}
		v, _ := strconv.Atoi(m[1])
		switch {
		case len(ms) > 0 && v == ms[len(ms)-1].version:
			return nil, fmt.Errorf("migrations: %s and %s are both version %d: each version must have one file", ms[len(ms)-1].file, file, v)
		case v != len(ms)+1:
			return nil, fmt.Errorf("migrations: %s is version %d after version %d: versions must run 1, 2, 3… without a gap", file, v, len(ms))
		}
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("migrations: %s is empty", file)
		}
		ms = append(ms, migration{version: v, name: m[2], file: file, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("migrations: %s holds no migration", dialect)
	}
	return ms, nil
}

// sameVersions reports the first version that dialects a and b lack or
// name differently.
func sameVersions(a string, as []migration, b string, bs []migration) error {
	for i := range max(len(as), len(bs)) {
		switch {
		case i >= len(as):
			return fmt.Errorf("migrations: %s has no version %d, which %s has (%s)", a, i+1, b, bs[i].file)
		case i >= len(bs):
			return fmt.Errorf("migrations: %s has no version %d, which %s has (%s)", b, i+1, a, as[i].file)
		case as[i].name != bs[i].name:
			return fmt.Errorf("migrations: version %d is %s but %s: a version must have the same name in every dialect", i+1, as[i].file, bs[i].file)
		}
	}
	return nil
}

// Migrate applies every migration not applied yet, under the dialect's lock.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, released, released.latest)
}

// migrate brings the database up to version target of set.
func (s *Store) migrate(ctx context.Context, set migrationSet, target int) error {
	steps, ok := set.byDialect[s.dialect.Name]
	if !ok {
		known := slices.Sorted(maps.Keys(set.byDialect))
		return fmt.Errorf("migrate: no migrations for the dialect %q (there are for %s)", s.dialect.Name, strings.Join(known, ", "))
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.dialect.LockMigrations != nil {
		unlock, err := s.dialect.LockMigrations(ctx, conn)
		if err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(steps) {
		return fmt.Errorf("migrate: the database is at schema version %d, newer than this build's %d", current, len(steps))
	}
	for _, m := range steps[current:max(current, min(target, len(steps)))] {
		if err := s.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migrate %d (%s): %w", m.version, m.file, err)
		}
	}
	return nil
}

// apply runs one migration's file and records its version, in one
// transaction: a file that fails leaves nothing behind. One Exec runs the
// whole file: SQLite's driver steps through every statement of the string,
// and pgx sends a statement without arguments by the simple query
// protocol, which takes several.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	q := `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
	if s.dialect.NumberedParams {
		q = `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`
	}
	if _, err := tx.ExecContext(ctx, q, m.version, toDB(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}
