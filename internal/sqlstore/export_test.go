package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
)

// Unmigrated returns a Store over db that has applied no migration yet.
func Unmigrated(db *sql.DB, d Dialect) *Store { return &Store{write: db, read: db, dialect: d} }

// MigrateTo applies the migrations in fsys up to version target, as
// Migrate applies the released ones.
func (s *Store) MigrateTo(ctx context.Context, fsys fs.FS, target int) error {
	set, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	return s.migrate(ctx, set, target)
}

// LoadMigrations checks the migrations in fsys and returns the latest version.
func LoadMigrations(fsys fs.FS) (int, error) {
	set, err := loadMigrations(fsys)
	return set.latest, err
}

// CountTargetsQuery is the query that counts a rollout's targets by wave
// and state, of one wave or of all.
func CountTargetsQuery(d Dialect, oneWave bool) string { return countTargetsQuery(&d, oneWave) }
