package sqlstore

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Prepared statements (SQLite). The SQLite driver prepares every query
// anew, and parsing costs more than running most of ours (a deployment
// takes some thirteen statements). A pool's queries are prepared once and
// run through each transaction's copy of them; PostgreSQL's driver keeps
// its own cache of prepared statements already.
//
// A statement is prepared on the pool, which takes a connection: never
// while the caller holds one in a transaction (SQLite's writer has one
// connection only). So a query first runs unprepared and is noted; it is
// prepared before the pool's next transaction begins.

// maxStmts bounds the statements kept per pool; past it, new queries
// simply run unprepared.
const maxStmts = 400

// maxStmtParams leaves out the queries built for a number of rows or ids
// (multi-row inserts, IN lists): each length would be a statement of its
// own, and one such statement serves many rows already.
const maxStmtParams = 24

// stmtCache holds a pool's prepared statements, nil for a query that
// could not be prepared, and the queries waiting to be.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// lookup returns q's prepared statement, or nil after noting q for the
// next prepare.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, known := c.stmts[q]
	if !known && !c.wanted[q] && len(c.stmts)+len(c.wanted) < maxStmts && strings.Count(q, "?") <= maxStmtParams {
		c.wanted[q] = true
	}
	return st
}

// prepare prepares the queries noted since it last ran. The caller holds
// no connection of the pool.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	qs := slices.Collect(maps.Keys(c.wanted))
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			st = nil // it runs unprepared, as before
		}
		c.mu.Lock()
		c.stmts[q] = st
		c.mu.Unlock()
	}
}

// prepareNoted prepares the queries noted, if any (nil: no cache). The
// caller holds no connection of the pool.
func (c *stmtCache) prepareNoted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	noted := len(c.wanted) > 0
	c.mu.Unlock()
	if noted {
		c.prepare(ctx)
	}
}

// close closes the prepared statements.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		if st != nil {
			st.Close()
		}
	}
	clear(c.stmts)
}

// stmt returns the transaction's copy of q's prepared statement, or nil
// when q runs unprepared.
func (t *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if st := t.local[q]; st != nil {
		return st
	}
	st := t.stmts.lookup(q)
	if st == nil {
		return nil
	}
	if t.local == nil {
		t.local = map[string]*sql.Stmt{}
	}
	// Not the caller's ctx: the copy serves the rest of the transaction.
	st = t.tx.StmtContext(context.WithoutCancel(ctx), st)
	t.local[q] = st
	return st
}
