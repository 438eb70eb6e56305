// Package sqlstore implements driverhub.Store over database/sql. The
// queries are portable: SQLite and PostgreSQL differ only in the Dialect
// they pass in and in the schema, which migrations/ writes once for each.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Name is the dialect's directory in migrations/.
	Name string
	// Numbered placeholders ($1, $2, …) instead of '?'.
	NumberedParams bool
	// IsUniqueViolation reports an insert or update that broke a UNIQUE constraint.
	IsUniqueViolation func(error) bool
	// LockMigrations takes a lock held for the life of conn, so that
	// replicas starting together apply migrations one at a time. Optional.
	LockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// UpdateIsolation and ViewIsolation are the isolation levels of Update
	// and View transactions; zero is the database's default. SQLite runs
	// one writer at a time, so its transactions are serializable as they
	// are; PostgreSQL asks for Serializable updates (a read-modify-write
	// never loses a concurrent one, across replicas too) and Repeatable
	// Read views (one snapshot for every query of a View).
	UpdateIsolation, ViewIsolation sql.IsolationLevel
	// RowIsolation is UpdateRows' isolation level; zero is Update's.
	// PostgreSQL asks for Repeatable Read: a row written by a concurrent
	// transaction still fails the update (and it runs again), but reads
	// of other rows on the same index pages do not.
	RowIsolation sql.IsolationLevel
	// IsRetryable reports an error after which an Update may succeed when
	// run again from the start (a serialization failure or a deadlock).
	// Update then rolls back and runs fn again, a few times. Optional.
	IsRetryable func(error) bool
	// IsFull reports a write refused because the disk is full. Update then
	// asks the store's OnDiskFull for room and, given some, runs fn again;
	// otherwise it fails with driverhub.ErrNoSpace. Optional.
	IsFull func(error) bool
	// DeploymentStatusIndex is what follows "deployments d" where a query
	// reads only a deployment's status by its id: SQLite's planner takes
	// the primary key's index (then the whole row) over the covering
	// deployments_status_by_id unless told. Empty: the planner chooses.
	DeploymentStatusIndex string
	// TouchGatewaysQuery writes many gateways' sync times in one
	// statement, from an array of instance ids and one of times (its two
	// parameters), forward only, as touchGatewaysQuery does one at a time.
	// Empty: one statement a gateway (cheap where there is no round trip).
	TouchGatewaysQuery string
	// StatementsRunToEnd: a statement does not take its caller's
	// cancellation. For SQLite: its statements are local and short; a
	// cancellable context costs a watching goroutine a statement (the
	// driver's), two a query (and database/sql's), 7% of the server's CPU
	// in a rollout, whose one writer waits behind them for Go's scheduler;
	// and an interrupted write inside a group transaction would roll back
	// the group's other calls. A transaction still checks its context
	// before it starts, and one whose context ended is not committed.
	// PostgreSQL keeps it: a statement there can wait on another
	// transaction's lock, and its caller's deadline ends the wait.
	StatementsRunToEnd bool
}

// Store is a driverhub.Store. Writes go through write, reads through read;
// for SQLite they are two pools (one writer, many readers), for
// PostgreSQL the same one (and a small one for UpdateFirst).
type Store struct {
	write, read *sql.DB
	// first is UpdateFirst's pool where the database has no writer queue
	// to jump (PostgreSQL); nil: write's.
	first   *sql.DB
	dialect Dialect
	onFull  func() bool
	commits committer
	// writeStmts and readStmts are the pools' prepared statements (nil:
	// none, on PostgreSQL).
	writeStmts, readStmts *stmtCache
}

// SetFirstPool gives UpdateFirst a pool of its own, so that a rollout's
// batches never wait for a connection behind the fleet's reports and
// fetches holding the shared pool's. The store closes it. Set it before
// the store is used.
func (s *Store) SetFirstPool(db *sql.DB) { s.first = db }

// OnDiskFull sets what Update calls when a write fails for a full disk:
// fn frees some room (a reserve file) and reports whether it did. Set it
// before the store is used.
func (s *Store) OnDiskFull(fn func() bool) { s.onFull = fn }

var _ driverhub.Store = (*Store)(nil)

// New returns a Store over the given pools and applies pending migrations.
func New(ctx context.Context, write, read *sql.DB, d Dialect) (*Store, error) {
	s := &Store{write: write, read: read, dialect: d}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	if d.Name == "sqlite" {
		s.writeStmts, s.readStmts = newStmtCache(write), newStmtCache(read)
	}
	return s, nil
}

// updateRetryBudget bounds how long Update keeps running fn again when
// the database asks for a retry. A budget of time, not a count: a
// transaction slowed by a loaded machine meets more conflicts, and must
// not fail for it while a few more attempts would pass.
const updateRetryBudget = 10 * time.Second

// Update runs fn in a read-write transaction. When the dialect reports the
// failure as retryable (a serialization failure), the transaction is
// rolled back and fn runs again from the start, after a short randomized
// pause; fn must therefore keep its effects inside tx. On SQLite, calls
// that arrive together share a transaction and its commit (group.go).
func (s *Store) Update(ctx context.Context, fn func(driverhub.Tx) error) error {
	return s.update(ctx, s.dialect.UpdateIsolation, false, fn)
}

// UpdateFirst is Update for work that others wait on: on SQLite it runs
// ahead of the calls queued for the writer, in a group of UpdateFirst
// calls only; elsewhere on the pool set by SetFirstPool, when set.
func (s *Store) UpdateFirst(ctx context.Context, fn func(driverhub.Tx) error) error {
	return s.update(ctx, s.dialect.UpdateIsolation, true, fn)
}

// UpdateRows is Update at the dialect's RowIsolation (Update's when unset).
func (s *Store) UpdateRows(ctx context.Context, fn func(driverhub.Tx) error) error {
	isolation := s.dialect.RowIsolation
	if isolation == sql.LevelDefault {
		isolation = s.dialect.UpdateIsolation
	}
	return s.update(ctx, isolation, false, fn)
}

// update runs fn at isolation; on SQLite, in the writer's next group
// (ahead of the queue when first).
func (s *Store) update(ctx context.Context, isolation sql.IsolationLevel, first bool, fn func(driverhub.Tx) error) error {
	if s.grouped() {
		return s.updateGrouped(ctx, fn, first)
	}
	opts := &sql.TxOptions{Isolation: isolation}
	db := s.write
	if first && s.first != nil {
		db = s.first
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := s.run(ctx, db, s.writeStmts, opts, fn)
		if err != nil && s.dialect.IsFull != nil && s.dialect.IsFull(err) {
			if s.onFull != nil && attempt < fullAttempts && s.onFull() {
				continue
			}
			return fmt.Errorf("%w: %v", driverhub.ErrNoSpace, err)
		}
		if err == nil || s.dialect.IsRetryable == nil || !s.dialect.IsRetryable(err) || time.Since(start) > updateRetryBudget {
			return err
		}
		// 1-2 ms, doubling with each attempt up to 64-128 ms.
		pause := time.Duration(1<<min(attempt-1, 6)) * time.Millisecond
		pause += rand.N(pause)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// fullAttempts bounds how often Update asks for room on a full disk.
const fullAttempts = 10

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(driverhub.Tx) error) error {
	return s.run(ctx, s.read, s.readStmts, &sql.TxOptions{Isolation: s.dialect.ViewIsolation, ReadOnly: s.dialect.Name != "sqlite"}, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, stmts *stmtCache, opts *sql.TxOptions, fn func(driverhub.Tx) error) error {
	stmts.prepareNoted(ctx)
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Rolls back when fn fails or panics; a no-op after Commit.
	defer sqlTx.Rollback() //nolint:errcheck
	tx := &Tx{tx: sqlTx, d: &s.dialect, stmts: stmts}
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // its caller gave up: not committed
	}
	if err := sqlTx.Commit(); err != nil {
		return tx.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes both pools.
func (s *Store) Close() error {
	s.writeStmts.close()
	s.readStmts.close()
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if s.first != nil {
		err = errors.Join(err, s.first.Close())
	}
	return err
}

// Tx is a driverhub.Tx.
type Tx struct {
	tx *sql.Tx
	d  *Dialect
	// stmts is the pool's statement cache (nil: none); local holds this
	// transaction's copies of its statements.
	stmts *stmtCache
	local map[string]*sql.Stmt
}

func (t *Tx) rebind(q string) string {
	if !t.d.NumberedParams {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// statementContext is the context a statement runs under (see
// Dialect.StatementsRunToEnd).
func (t *Tx) statementContext(ctx context.Context) context.Context {
	if t.d.StatementsRunToEnd && ctx.Done() != nil { // one that cannot end is kept as it is
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = t.statementContext(ctx)
	q = t.rebind(q)
	if st := t.stmt(ctx, q); st != nil {
		r, err := st.ExecContext(ctx, args...)
		return r, t.mapErr(err)
	}
	r, err := t.tx.ExecContext(ctx, q, args...)
	return r, t.mapErr(err)
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = t.statementContext(ctx)
	q = t.rebind(q)
	if st := t.stmt(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, t.mapErr(err)
	}
	rows, err := t.tx.QueryContext(ctx, q, args...)
	return rows, t.mapErr(err)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = t.statementContext(ctx)
	q = t.rebind(q)
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// mapErr turns the database's uniqueness errors into driverhub.ErrConflict
// and "no rows" into driverhub.ErrNotFound, keeping the cause in the chain.
func (t *Tx) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", driverhub.ErrNotFound, err)
	case t.d.IsUniqueViolation != nil && t.d.IsUniqueViolation(err):
		return fmt.Errorf("%w: %w", driverhub.ErrConflict, err)
	}
	return err
}

// mustAffect reports ErrNotFound when an update or delete touched no row.
func mustAffect(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return driverhub.ErrNotFound
	}
	return nil
}

// Times are stored as Unix microseconds: portable and ordered.
func toDB(t time.Time) int64 { return t.UnixMicro() }

func fromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullTimeToDB(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toDB(*t), Valid: true}
}

func nullTimeFromDB(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromDB(n.Int64)
	return &t
}

// Cursors are opaque to clients: the sort key of the last item behind a
// version prefix, encoded.
const cursorPrefix = "c1:"

func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + key))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	key, ok := strings.CutPrefix(string(b), cursorPrefix)
	if err != nil || !ok || !utf8.ValidString(key) {
		return "", driverhub.Invalid("cursor", "is not a cursor this server issued")
	}
	return key, nil
}

// page runs a keyset-paginated query. where holds the filter up to the
// cursor condition; keyCol is the unique sort column; desc sorts it
// descending. scan reads one row and returns the item and its key.
func page[T any](ctx context.Context, t *Tx, p driverhub.Page, selectFrom, where string, args []any,
	keyCol string, desc bool, scan func(*sql.Rows) (T, string, error)) (driverhub.List[T], error) {
	out := driverhub.List[T]{Items: []T{}}
	p, err := p.Normalize()
	if err != nil {
		return out, err
	}
	q := selectFrom + " WHERE " + where
	if p.Cursor != "" {
		key, err := decodeCursor(p.Cursor)
		if err != nil {
			return out, err
		}
		if desc {
			q += " AND " + keyCol + " < ?"
		} else {
			q += " AND " + keyCol + " > ?"
		}
		args = append(args, key)
	}
	order := " ASC"
	if desc {
		order = " DESC"
	}
	q += " ORDER BY " + keyCol + order + " LIMIT " + strconv.Itoa(p.Limit+1)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	var lastKey string
	for rows.Next() {
		if len(out.Items) == p.Limit {
			out.NextCursor = encodeCursor(lastKey)
			break
		}
		item, key, err := scan(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, item)
		lastKey = key
	}
	return out, rows.Err()
}

// marshalJSON encodes v as stored: without encoding/json's HTML escaping
// of <, > and &, so that configs keep the bytes (and byte counts) users sent.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
