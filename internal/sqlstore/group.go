package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/driverhub/driverhub"
)

// Group commit (SQLite). SQLite has one writer, and every commit waits for
// its log to reach the disk (an fsync of some milliseconds), so a fleet's
// reports, each an Update of its own, queue for the writer one fsync at a
// time. Update calls that arrive while a transaction runs are instead run
// together in the next one, each inside a savepoint of its own (a call
// that fails is undone alone and gets its own error), and share its
// commit. A call returns once that commit is done: a call that returned
// nil is as durable as before, and one that failed left nothing behind.
// The calls of a group run one after the other, in the order they came,
// as they would have one transaction each. An UpdateFirst call (work
// that others wait on) goes ahead of the queue, into a group of
// UpdateFirst calls only, but never twice in a row while other calls wait
// (nextGroup).

// maxGroup bounds the calls of one transaction, so that a burst of
// reports does not hold the writer (or make one huge log) for long: 1,024
// reports are about 50 ms of work. Fewer commits (each waits for the
// disk) drain a wave's reports sooner than groups of 256 did.
const maxGroup = 1024

// groupCall is one Update waiting for, or run in, a group.
type groupCall struct {
	ctx      context.Context
	fn       func(driverhub.Tx) error
	first    bool // UpdateFirst's: runs ahead of the others, alone
	err      error
	panicked any
	done     chan struct{}
}

// committer queues the Update calls of a Store; busy says a leader is
// running groups, one after the other, until the queue is empty.
type committer struct {
	mu    sync.Mutex
	queue []*groupCall
	busy  bool
	// firstRan: the last group taken was of UpdateFirst calls.
	firstRan bool
}

// grouped reports whether Update groups calls: for SQLite's one writer.
// PostgreSQL runs concurrent transactions, and its serializable updates
// would fail as a group for any one call's conflict.
func (s *Store) grouped() bool { return s.dialect.Name == "sqlite" }

// updateGrouped runs fn in the next group transaction and returns its
// outcome. The first caller with nothing running leads: it runs the
// group its call is in, then hands what queued meanwhile to a new leader.
func (s *Store) updateGrouped(ctx context.Context, fn func(driverhub.Tx) error, first bool) error {
	c := &groupCall{ctx: ctx, fn: fn, first: first, done: make(chan struct{})}
	g := &s.commits
	g.mu.Lock()
	if first {
		g.queue = slices.Insert(g.queue, leadingFirst(g.queue), c)
	} else {
		g.queue = append(g.queue, c)
	}
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if lead {
		s.lead()
	}
	<-c.done
	if c.panicked != nil {
		panic(c.panicked)
	}
	return c.err
}

// lead runs the next group of queued calls, then leaves the rest to a
// new leader, so that its own caller returns after one group.
func (s *Store) lead() {
	g := &s.commits
	g.mu.Lock()
	calls := g.nextGroup()
	g.mu.Unlock()
	s.runGroup(calls)
	g.mu.Lock()
	more := len(g.queue) > 0
	g.busy = more
	g.mu.Unlock()
	if more {
		go s.lead()
	}
}

// nextGroup takes the calls of the next group off the queue: the
// UpdateFirst calls at its head, without the others; but after a group of
// those, the others waiting get a group (so that a long run of UpdateFirst
// calls, a wave of 100,000 targets, holds them one group at a time, not
// for the whole wave); else the calls in the order they came.
func (g *committer) nextGroup() []*groupCall {
	first := leadingFirst(g.queue)
	from, n := 0, first
	switch {
	case first == 0:
		n = len(g.queue)
	case g.firstRan && first < len(g.queue):
		from, n = first, len(g.queue)-first
	}
	n = min(n, maxGroup)
	calls := slices.Clone(g.queue[from : from+n])
	g.queue = slices.Delete(g.queue, from, from+n)
	g.firstRan = n > 0 && calls[0].first
	return calls
}

// leadingFirst counts the UpdateFirst calls at the head of queue.
func leadingFirst(queue []*groupCall) int {
	n := 0
	for n < len(queue) && queue[n].first {
		n++
	}
	return n
}

// runGroup runs calls in one transaction and tells each its outcome. When
// the transaction itself fails because of one call (its error undid more
// than its savepoint), that call gets its error and the others run again
// without it; a full disk is handled as Update handles it.
func (s *Store) runGroup(calls []*groupCall) {
	defer func() {
		for _, c := range calls {
			close(c.done)
		}
	}()
	for attempt := 1; ; attempt++ {
		culprit, err := s.tryGroup(calls)
		full := err != nil && s.dialect.IsFull != nil && s.dialect.IsFull(err)
		switch {
		case err == nil:
			return
		case full && s.onFull != nil && attempt < fullAttempts && s.onFull():
			continue
		case full:
			err = fmt.Errorf("%w: %v", driverhub.ErrNoSpace, err)
		}
		if culprit < 0 {
			for _, c := range calls {
				c.err, c.panicked = err, nil
			}
			return
		}
		c := calls[culprit]
		if full || (c.err == nil && c.panicked == nil) {
			c.err, c.panicked = err, nil
		}
		close(c.done)
		calls = slices.Delete(calls, culprit, culprit+1)
		if len(calls) == 0 {
			return
		}
	}
}

// tryGroup runs calls in one transaction, each in a savepoint when there
// are several, and commits what succeeded. It returns the index of the
// call that made the transaction fail, or -1 for a failure of its own
// (begin, commit).
func (s *Store) tryGroup(calls []*groupCall) (int, error) {
	s.writeStmts.prepareNoted(context.Background())
	sqlTx, err := s.write.BeginTx(context.Background(), &sql.TxOptions{Isolation: s.dialect.UpdateIsolation})
	if err != nil {
		return -1, fmt.Errorf("begin transaction: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck
	tx := &Tx{tx: sqlTx, d: &s.dialect, stmts: s.writeStmts}
	single, ok := len(calls) == 1, 0
	for k, c := range calls {
		c.err, c.panicked = c.ctx.Err(), nil
		if c.err != nil {
			continue
		}
		if !single {
			if _, err := tx.exec(context.Background(), "SAVEPOINT grouped"); err != nil {
				return k, err
			}
		}
		c.err, c.panicked = runCall(c.fn, tx)
		if c.err == nil && c.panicked == nil {
			c.err = c.ctx.Err() // its caller gave up: undone, as a transaction of its own would not commit
		}
		if s.dialect.IsFull != nil && s.dialect.IsFull(c.err) {
			return k, c.err
		}
		failed := c.err != nil || c.panicked != nil
		if !failed {
			ok++
		}
		if single {
			continue
		}
		if err := endSavepoint(tx, failed); err != nil {
			return k, err
		}
	}
	if ok == 0 {
		return -1, nil // nothing to commit: every call failed on its own
	}
	if err := sqlTx.Commit(); err != nil {
		return -1, tx.mapErr(fmt.Errorf("commit: %w", err))
	}
	return -1, nil
}

// endSavepoint releases the savepoint of a call, undoing it first when
// the call failed; prepared once, as every statement of the writer is.
func endSavepoint(tx *Tx, undo bool) error {
	ctx := context.Background()
	if undo {
		if _, err := tx.exec(ctx, "ROLLBACK TO grouped"); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, "RELEASE grouped")
	return err
}

// runCall runs fn, turning a panic into a value its caller re-raises.
func runCall(fn func(driverhub.Tx) error, tx *Tx) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return fn(tx), nil
}
