package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/notify"
)

// Channel is the LISTEN/NOTIFY channel on which replicas announce that an
// instance's desired state may have changed; the payload is the instance id.
const Channel = "driverhub_desired"

const (
	// listenTimeout is how long the listener waits for a notification
	// before checking that its connection still answers.
	listenTimeout = 30 * time.Second
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 10 * time.Second
)

// Notifier is a driverhub.Notifier across server replicas: Notify wakes
// the local waiters at once and sends NOTIFY through the pool; every
// replica holds one connection that LISTENs and wakes its own waiters
// through a notify.Local. When that connection is lost it reconnects with
// backoff, then wakes every local waiter, since notifications sent in
// between are lost: each re-reads its state and misses nothing.
type Notifier struct {
	local *notify.Local
	db    *sql.DB
	conn  *pgx.ConnConfig
	log   *slog.Logger

	mu   sync.Mutex
	subs map[string]int // instance id → local waiters

	listening atomic.Bool
	connects  atomic.Int64
	cancel    context.CancelFunc
	done      chan struct{}
}

var _ driverhub.Notifier = (*Notifier)(nil)

// NewNotifier starts listening on the database at dsn; db sends the
// notifications (the store's pool will do). It returns once the first
// LISTEN succeeded, or with the error of the first attempt; later losses of
// the connection are retried until Close.
func NewNotifier(ctx context.Context, dsn string, db *sql.DB, log *slog.Logger) (*Notifier, error) {
	c, err := ParseURL(dsn)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	cc := c.Conn.Copy()
	cc.RuntimeParams["application_name"] = "driverhub-listener"
	// Waking up from a listen timeout needs no cancel request to the
	// server: a read deadline suffices.
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	n := &Notifier{local: notify.NewLocal(), db: db, conn: cc, log: log, subs: map[string]int{}, done: make(chan struct{})}
	first, err := n.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres notifier: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.run(runCtx, first)
	return n, nil
}

// Subscribe registers a local waiter.
func (n *Notifier) Subscribe(instanceID string) (<-chan struct{}, func()) {
	n.mu.Lock()
	n.subs[instanceID]++
	n.mu.Unlock()
	wake, cancel := n.local.Subscribe(instanceID)
	var once sync.Once
	return wake, func() {
		once.Do(func() {
			cancel()
			n.mu.Lock()
			if n.subs[instanceID]--; n.subs[instanceID] <= 0 {
				delete(n.subs, instanceID)
			}
			n.mu.Unlock()
		})
	}
}

// Notify wakes the instances' waiters here, then on every replica, with
// one statement for all: each statement is a transaction whose commit
// waits for the disk, which one per instance made the slowest part of a
// rollout's batch (200 deployments: 0.2-0.5 s).
func (n *Notifier) Notify(ctx context.Context, instanceIDs ...string) error {
	_ = n.local.Notify(ctx, instanceIDs...) // wakes; never fails
	if len(instanceIDs) == 0 {
		return nil
	}
	if _, err := n.db.ExecContext(ctx, `SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id`, Channel, instanceIDs); err != nil {
		return fmt.Errorf("notify %s: %w", Channel, err)
	}
	return nil
}

// Listening reports whether the LISTEN connection is up.
func (n *Notifier) Listening() bool { return n.listening.Load() }

// Connects counts the LISTEN connections made so far (1 until the first is lost).
func (n *Notifier) Connects() int64 { return n.connects.Load() }

// Waiters counts the local waiters.
func (n *Notifier) Waiters() int { return n.local.Waiters() }

// Close stops listening.
func (n *Notifier) Close() error {
	if n.cancel != nil {
		n.cancel()
		<-n.done
	}
	return nil
}

// listen connects and LISTENs.
func (n *Notifier) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, n.conn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	n.connects.Add(1)
	n.listening.Store(true)
	return conn, nil
}

// run receives notifications on conn, reconnecting when it is lost.
func (n *Notifier) run(ctx context.Context, conn *pgx.Conn) {
	defer close(n.done)
	backoff := minBackoff
	for {
		if conn != nil {
			err := n.receive(ctx, conn)
			n.listening.Store(false)
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("lost the database notification connection; reconnecting", "err", err)
		}
		// Full jitter, so that replicas do not reconnect in step.
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		c, err := n.listen(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("database notification connection", "err", err, "retry_in", backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		n.log.Info("database notification connection restored")
		backoff = minBackoff
		conn = c
		n.wakeAll()
	}
}

// receive wakes local waiters for each notification until the connection
// fails or ctx ends. Between notifications it checks the connection every
// listenTimeout, so that a silently dropped one is noticed.
func (n *Notifier) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenTimeout)
		note, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if note.Channel == Channel {
				n.local.Wake(note.Payload)
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			if conn.IsClosed() {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// wakeAll wakes every local waiter, after notifications may have been lost.
func (n *Notifier) wakeAll() {
	n.mu.Lock()
	ids := make([]string, 0, len(n.subs))
	for id := range n.subs {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	_ = n.local.Notify(context.Background(), ids...) // wakes; never fails
}
