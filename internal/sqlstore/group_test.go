package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/driverhub/driverhub"
)

// groupStore opens a SQLite store as internal/sqlite does: one writer.
func groupStore(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	dsn := "file://" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), write, read, Dialect{Name: "sqlite",
		IsUniqueViolation: func(err error) bool { return strings.Contains(err.Error(), "UNIQUE constraint failed") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Updates that queue behind a running one share its successor's
// transaction, yet each keeps its own outcome: a failing or panicking
// call leaves nothing behind and gets its own error (or panic back), the
// others' writes are committed.
func TestGroupedUpdatesKeepTheirOwnOutcomes(t *testing.T) {
	s := groupStore(t)
	ctx := t.Context()
	release := holdWriter(s, nil)
	const n = 30
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			defer func() { panics[k] = recover() }()
			errs[k] = s.Update(ctx, func(tx driverhub.Tx) error {
				tn := &driverhub.Tenant{ID: fmt.Sprintf("t%02d", k), Name: fmt.Sprintf("tenant-%02d", k), CreatedAt: time.Now()}
				if err := tx.CreateTenant(ctx, tn); err != nil {
					return err
				}
				switch k % 3 {
				case 1:
					return fmt.Errorf("call %d refuses", k)
				case 2:
					panic(fmt.Sprintf("call %d panics", k))
				}
				return nil
			})
		})
	}
	for s.queued() < n {
		time.Sleep(time.Millisecond)
	}
	release()
	wg.Wait()
	for k := range n {
		var got *driverhub.Tenant
		err := s.View(ctx, func(tx driverhub.Tx) (err error) {
			got, err = tx.TenantByID(ctx, fmt.Sprintf("t%02d", k))
			return err
		})
		switch k % 3 {
		case 0:
			if errs[k] != nil || panics[k] != nil || err != nil || got.Name != fmt.Sprintf("tenant-%02d", k) {
				t.Errorf("call %d: %v, panic %v; its tenant: %v, %v", k, errs[k], panics[k], got, err)
			}
		case 1:
			if errs[k] == nil || errs[k].Error() != fmt.Sprintf("call %d refuses", k) || !errors.Is(err, driverhub.ErrNotFound) {
				t.Errorf("failing call %d: %v; its tenant: %v, %v", k, errs[k], got, err)
			}
		case 2:
			if panics[k] != fmt.Sprintf("call %d panics", k) || !errors.Is(err, driverhub.ErrNotFound) {
				t.Errorf("panicking call %d: panic %v; its tenant: %v, %v", k, panics[k], got, err)
			}
		}
	}
}

// A call whose caller gives up while it runs (its context ends after its
// writes) is undone alone and gets its context's error; the other calls
// of its group commit.
func TestGroupedUpdateAbandonedIsUndoneAlone(t *testing.T) {
	s := groupStore(t)
	ctx := t.Context()
	release := holdWriter(s, nil)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for k := range 3 {
		wg.Go(func() {
			callCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			errs[k] = s.Update(callCtx, func(tx driverhub.Tx) error {
				if err := tx.CreateTenant(callCtx, &driverhub.Tenant{ID: fmt.Sprint(k), Name: fmt.Sprint("tenant-", k), CreatedAt: time.Now()}); err != nil {
					return err
				}
				if k == 1 {
					cancel()
				}
				return nil
			})
		})
		for s.queued() < k+1 {
			time.Sleep(time.Millisecond)
		}
	}
	release()
	wg.Wait()
	for k := range 3 {
		err := s.View(ctx, func(tx driverhub.Tx) error {
			_, err := tx.TenantByID(ctx, fmt.Sprint(k))
			return err
		})
		if k == 1 {
			if !errors.Is(errs[k], context.Canceled) || !errors.Is(err, driverhub.ErrNotFound) {
				t.Errorf("abandoned call: %v; its tenant: %v, want context.Canceled and none", errs[k], err)
			}
		} else if errs[k] != nil || err != nil {
			t.Errorf("call %d: %v; its tenant: %v", k, errs[k], err)
		}
	}
}

// A call whose error a unique constraint raised is undone alone too.
func TestGroupedUpdateConflictIsItsOwn(t *testing.T) {
	s := groupStore(t)
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: "a", Name: "same", CreatedAt: time.Now()}
	if err := s.Update(ctx, func(tx driverhub.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for k, name := range []string{"same", "other"} {
		wg.Go(func() {
			errs[k] = s.Update(ctx, func(tx driverhub.Tx) error {
				return tx.CreateTenant(ctx, &driverhub.Tenant{ID: "b" + name, Name: name, CreatedAt: time.Now()})
			})
		})
	}
	wg.Wait()
	if !errors.Is(errs[0], driverhub.ErrConflict) || errs[1] != nil {
		t.Fatalf("duplicate name: %v, other name: %v", errs[0], errs[1])
	}
}

// An UpdateFirst call (a rollout's batch, whose gateways wait for it)
// goes ahead of the updates that queued before it (a fleet's reports),
// and UpdateFirst calls keep their own order; but right after a group of
// UpdateFirst calls, the updates waiting get theirs, so that a wave's
// long run of batches does not hold a fleet's reports for all of it.
func TestUpdateFirstGoesAheadOfTheQueue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holding func(s *Store) func(context.Context, func(driverhub.Tx) error) error
		want    []string
	}{
		{"after an update", func(s *Store) func(context.Context, func(driverhub.Tx) error) error { return s.Update },
			[]string{"batch-1", "batch-2", "report-0", "report-1", "report-2"}},
		{"after a batch", func(s *Store) func(context.Context, func(driverhub.Tx) error) error { return s.UpdateFirst },
			[]string{"report-0", "report-1", "report-2", "batch-1", "batch-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := groupStore(t)
			if got := queueBehindWriter(t, s, tc.holding(s)); !slices.Equal(got, tc.want) {
				t.Errorf("ran in the order %q, want %q", got, tc.want)
			}
		})
	}
}

// queueBehindWriter holds the writer with an update through holding,
// queues three updates and then two UpdateFirst calls behind it, and
// returns the order they ran in.
func queueBehindWriter(t *testing.T, s *Store, holding func(context.Context, func(driverhub.Tx) error) error) []string {
	ctx := t.Context()
	release := holdWriter(s, holding)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	queue := func(update func(context.Context, func(driverhub.Tx) error) error, name string, queued int) {
		wg.Go(func() {
			err := update(ctx, func(tx driverhub.Tx) error {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, name)
				return tx.CreateTenant(ctx, &driverhub.Tenant{ID: name, Name: name, CreatedAt: time.Now()})
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
		for s.queued() < queued {
			time.Sleep(time.Millisecond)
		}
	}
	for k := range 3 {
		queue(s.Update, fmt.Sprintf("report-%d", k), k+1)
	}
	queue(s.UpdateFirst, "batch-1", 4)
	queue(s.UpdateFirst, "batch-2", 5)
	release()
	wg.Wait()
	return order
}

// holdWriter runs an update (through update: s.Update when nil) that
// keeps the writer until release is called, so that the calls made
// meanwhile queue for the next group.
func holdWriter(s *Store, update func(context.Context, func(driverhub.Tx) error) error) (release func()) {
	if update == nil {
		update = s.Update
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go update(context.Background(), func(tx driverhub.Tx) error { //nolint:errcheck
		close(held)
		<-hold
		return nil
	})
	<-held
	return func() { close(hold) }
}

// queued counts the calls waiting for a group.
func (s *Store) queued() int {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	return len(s.commits.queue)
}
