package postgres_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
)

// notifier starts a replica's notifier on the test database.
func notifier(t *testing.T, dsn string) *postgres.Notifier {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n, err := postgres.NewNotifier(t.Context(), dsn, db, nil)
	if err != nil {
		t.Fatalf("NewNotifier: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestNotifyWakesTheGatewaysOfEveryReplica: one Notify of a rollout
// batch's instances (one statement for all) wakes the gateways waiting for
// each of them on the replica that made the batch and on another one, and
// no other gateway.
func TestNotifyWakesTheGatewaysOfEveryReplica(t *testing.T) {
	dsn := pgtest.URL(t)
	a, b := notifier(t, dsn), notifier(t, dsn)
	ids := make([]string, 250)
	for k := range ids {
		ids[k] = driverhub.NewID()
	}
	type waiter struct {
		replica string
		id      string
		wake    <-chan struct{}
	}
	var woken []waiter
	for _, id := range ids {
		for name, n := range map[string]*postgres.Notifier{"A": a, "B": b} {
			wake, cancel := n.Subscribe(id)
			t.Cleanup(cancel)
			woken = append(woken, waiter{name, id, wake})
		}
	}
	other, cancel := b.Subscribe(driverhub.NewID())
	defer cancel()

	if err := a.Notify(t.Context(), ids...); err != nil {
		t.Fatalf("Notify of %d instances: %v", len(ids), err)
	}
	deadline := time.After(10 * time.Second)
	for _, w := range woken {
		select {
		case <-w.wake:
		case <-deadline:
			t.Fatalf("the gateway of %s on replica %s was not woken within 10 s", w.id, w.replica)
		}
	}
	select {
	case <-other:
		t.Errorf("a gateway of an instance not notified was woken")
	case <-time.After(200 * time.Millisecond):
	}
	if err := a.Notify(t.Context()); err != nil {
		t.Errorf("Notify of no instance: %v", err)
	}
}
