// Package sqlite opens the embedded SQLite database (pure Go, no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/driverhub/driverhub/internal/sqlstore"
)

// Open opens (creating if needed) the database file at path and applies
// pending migrations. One connection writes, several read: SQLite in WAL
// mode lets readers go on while a write commits.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	dsn := func(extra string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Set("_time_format", "sqlite")
		return fileURI(path) + "?" + q.Encode() + extra
	}
	write, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	s, err := sqlstore.New(ctx, write, read, Dialect)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// fileURI returns the SQLite URI of the file at path. The characters a URI
// gives a meaning to ('%', '?' and '#') are escaped, so that a directory
// named "100%" or "a#b" holds the database rather than cutting its name
// short; an absolute path gets an empty authority, so that one starting
// with "//" is not read as a host.
func fileURI(path string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if strings.HasPrefix(p, "/") {
		return "file://" + p
	}
	return "file:" + p
}

// Dialect is SQLite's sqlstore.Dialect: '?' placeholders, one writer (so
// transactions are serializable as they are), the schema of sqlstore's
// migrations/sqlite.
var Dialect = sqlstore.Dialect{Name: "sqlite", IsUniqueViolation: isUniqueViolation, IsFull: isFull,
	DeploymentStatusIndex: "INDEXED BY deployments_status_by_id", StatementsRunToEnd: true}

// isFull reports SQLITE_FULL: the disk (or a quota) is full.
func isFull(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
