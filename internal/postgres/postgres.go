// Package postgres opens driverhub's store on PostgreSQL (through pgx's
// database/sql driver) and provides the LISTEN/NOTIFY notifier that wakes
// gateways long-polling other server replicas.
//
// The queries are sqlstore's; this package adds only what differs:
//   - placeholders are $1, $2, …;
//   - a unique violation is SQLSTATE 23505;
//   - migrations run under a session-level advisory lock on one dedicated
//     connection, so replicas starting together apply them one at a time;
//   - the schema is sqlstore's migrations/postgres, where every TEXT column
//     is COLLATE "C", so text compares and sorts byte-wise, as in SQLite,
//     whatever the database's locale;
//   - updates are Serializable and retried on serialization failures, so
//     a read-modify-write never loses another replica's write; views are
//     Repeatable Read (one snapshot).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/driverhub/driverhub/internal/sqlstore"
)

// DefaultMaxConns is the connection pool size of one server process when
// the URL does not say (pool_max_conns).
const DefaultMaxConns = 20

// FirstConns is how many connections a server keeps, beside its pool, for
// the work others wait on (Store.UpdateFirst: a rollout's batches and
// steps), which would otherwise queue for a connection behind a wave's
// reports and fetches.
const FirstConns = 2

// migrationLock is the first key of the advisory lock taken while
// migrating; the second is the hash of the schema, so that stores in
// different schemas of one database migrate independently.
const migrationLock = 0x64726876 // "drhv"

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Config is a parsed database URL.
type Config struct {
	Conn *pgx.ConnConfig
	// MaxConns bounds the pool (open connections, busy or idle).
	MaxConns int
}

// ParseURL parses a postgres:// URL. Besides what libpq accepts, the query
// may hold pool_max_conns (default DefaultMaxConns), which is taken out
// before the rest goes to pgx.
func ParseURL(dsn string) (*Config, error) {
	c := &Config{MaxConns: DefaultMaxConns}
	if u, err := url.Parse(dsn); err == nil && IsURL(dsn) {
		q := u.Query()
		if v := q.Get("pool_max_conns"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("postgres: pool_max_conns must be a positive number, got %q", v)
			}
			c.MaxConns = n
		}
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL with its password.
		return nil, fmt.Errorf("postgres: cannot parse the database URL %s", Redact(dsn))
	}
	c.Conn = cc
	return c, nil
}

// Redact returns a database URL with its password replaced by "xxxxx",
// for logs and messages.
func Redact(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// kvPassword matches the password of a key=value connection string.
var kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Dialect is PostgreSQL's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:              "postgres",
	NumberedParams:    true,
	IsUniqueViolation: func(err error) bool { return hasCode(err, "23505") },
	LockMigrations:    lockMigrations,
	UpdateIsolation:   sql.LevelSerializable,
	ViewIsolation:     sql.LevelRepeatableRead,
	RowIsolation:      sql.LevelRepeatableRead,
	// 40001 serialization_failure, 40P01 deadlock_detected.
	IsRetryable: func(err error) bool { return hasCode(err, "40001") || hasCode(err, "40P01") },
	// One statement for a flush of many gateways' syncs, not one each.
	TouchGatewaysQuery: `UPDATE instances i SET last_seen_at = s.at
		FROM unnest(?::text[], ?::bigint[]) AS s(id, at)
		WHERE i.id = s.id COLLATE "C" AND (i.last_seen_at IS NULL OR i.last_seen_at < s.at)`,
}

func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

// lockMigrations takes a session-level advisory lock on conn, waiting for
// another replica's migration to finish.
func lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	const key = `$1, hashtext(current_schema())`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`, migrationLock); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+key+`)`, migrationLock); err != nil {
			// Never hand a connection that may hold the lock back to the
			// pool: closing the session releases it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}

// Open connects to the database at dsn, applies pending migrations and
// returns the store. Reads and writes share one pool; UpdateFirst has
// FirstConns connections of its own.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	s, _, err := OpenDB(ctx, dsn)
	return s, err
}

// OpenDB is Open that also returns the pool, for metrics; closing the
// store closes it.
func OpenDB(ctx context.Context, dsn string) (*sqlstore.Store, *sql.DB, error) {
	c, err := ParseURL(dsn)
	if err != nil {
		return nil, nil, err
	}
	db, first := pool(c, c.MaxConns), pool(c, FirstConns)
	s, err := sqlstore.New(ctx, db, db, Dialect)
	if err != nil {
		db.Close()
		first.Close()
		return nil, nil, fmt.Errorf("open postgres %s: %w", Redact(dsn), err)
	}
	s.SetFirstPool(first)
	return s, db, nil
}

// pool opens a pool of at most n connections to c's database.
func pool(c *Config, n int) *sql.DB {
	db := stdlib.OpenDB(*c.Conn)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db
}
