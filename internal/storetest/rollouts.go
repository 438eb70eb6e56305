package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// RunRollouts runs the cases of RolloutTx. newStore returns a fresh,
// empty, migrated store for each call; every subtest runs in parallel on
// its own.
func RunRollouts(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	edgeRun(t, newStore, []edgeCase{
		{"Rollouts", testRollouts},
		{"UpdateRolloutOncePerStep", testUpdateRolloutOncePerStep},
		{"UpdateRolloutConcurrently", testUpdateRolloutConcurrently},
		{"LeaseRollout", testLeaseRollout},
		{"RolloutTargets", testRolloutTargets},
		{"UpdateRolloutTarget", testUpdateRolloutTarget},
		{"DeployedTargetsReadAsTheirDeployments", testDeployedTargetsReadAsTheirDeployments},
		{"FailUnfinishedTargets", testFailUnfinishedTargets},
		{"RolloutsOfDeployments", testRolloutsOfDeployments},
		{"RolloutTargetsToRollBack", testRolloutTargetsToRollBack},
		{"RolloutCandidates", testRolloutCandidates},
		{"ActiveRolloutInstances", testActiveRolloutInstances},
		{"RolloutEventsAndStats", testRolloutEventsAndStats},
		{"RolloutReasonText", testRolloutReasonText},
		{"RolloutEventText", testRolloutEventText},
		{"RolloutProblemText", testRolloutProblemText},
	})
}

// newRollout returns a running rollout of d in wave 1, as stored (no view fields).
func newRollout(tn *driverhub.Tenant, d *driverhub.Driver, name string) *driverhub.Rollout {
	at := now()
	return &driverhub.Rollout{
		ID: driverhub.NewID(), TenantID: tn.ID, Name: name, DriverID: d.ID, Driver: d.Name, PublisherID: tn.ID,
		Publisher: tn.Name, Version: "2.0.0", Selector: &driverhub.RolloutSelector{Tags: map[string]string{"site": "上海"}},
		Percents: []int{1, 10, 50, 100}, SuccessThreshold: 95, FailureThreshold: 10, WaveTimeout: 30 * time.Minute,
		OnAbort: driverhub.OnAbortRollback, State: driverhub.RolloutRunning, Wave: 1, WaveStartedAt: &at,
		CreatedBy: "admin", CreatedAt: at, UpdatedAt: at,
	}
}

// rolloutFixture stores a tenant, a driver, n instances gw000… and a rollout.
func rolloutFixture(t testing.TB, s driverhub.Store, n int) (*driverhub.Tenant, *driverhub.Driver, []*driverhub.Instance, *driverhub.Rollout) {
	t.Helper()
	tn := newTenant("acme")
	d := newDriver(tn, "meter")
	items := []any{tn, d}
	var is []*driverhub.Instance
	for k := range n {
		i := edgeInstance(tn, fmt.Sprintf("gw%03d", k))
		is = append(is, i)
		items = append(items, i)
	}
	r := newRollout(tn, d, "meter 2")
	create(t, s, items...)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, r) })
	return tn, d, is, r
}

func readRollout(t testing.TB, s driverhub.Store, tenantID, id string) *driverhub.Rollout {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Rollout, error) {
		return tx.RolloutByID(ctx, tenantID, id)
	})
}

func testRollouts(t *testing.T, s driverhub.Store) {
	tn, d, _, r := rolloutFixture(t, s, 0)
	if diff := cmp.Diff(r, readRollout(t, s, tn.ID, r.ID)); diff != "" {
		t.Errorf("RolloutByID (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(r, readRollout(t, s, "", r.ID)); diff != "" {
		t.Errorf("RolloutByID of any tenant (-want +got):\n%s", diff)
	}
	other := newTenant("other")
	create(t, s, other)
	wantIs(t, "RolloutByID of another tenant", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.RolloutByID(ctx, other.ID, r.ID)
		return err
	}), driverhub.ErrNotFound)

	// Every tag selector, {} included, and a list of instances read back as written.
	named := newRollout(tn, d, "by name")
	named.Selector = &driverhub.RolloutSelector{Instances: []string{"gw1", "gw2"}}
	all := newRollout(tn, d, "everywhere")
	all.Selector = &driverhub.RolloutSelector{Tags: map[string]string{}}
	all.State, all.WaveStartedAt, all.Rollback = driverhub.RolloutAborted, nil, driverhub.RollbackPending
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return errors.Join(tx.CreateRollout(ctx, named), tx.CreateRollout(ctx, all))
	})
	for _, want := range []*driverhub.Rollout{named, all} {
		if diff := cmp.Diff(want, readRollout(t, s, tn.ID, want.ID)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.Name, diff)
		}
	}
	list := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Rollout], error) {
		return tx.ListRollouts(ctx, tn.ID, driverhub.Page{Limit: 2})
	})
	if len(list.Items) != 2 || list.Items[0].ID != all.ID || list.Items[1].ID != named.ID || list.NextCursor == "" {
		t.Errorf("ListRollouts first page: %d items, cursor %q; want the two newest, newest first", len(list.Items), list.NextCursor)
	}
	if l := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Rollout], error) {
		return tx.ListRollouts(ctx, other.ID, driverhub.Page{})
	}); len(l.Items) != 0 {
		t.Errorf("another tenant lists %d rollouts", len(l.Items))
	}
	// Done rollouts are no longer driven; a rollback under way still is.
	done := newRollout(tn, d, "done")
	done.State = driverhub.RolloutSucceeded
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, done) })
	driven := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Rollout, error) {
		return tx.RolloutsToDrive(ctx)
	})
	var ids []string
	for _, x := range driven {
		ids = append(ids, x.ID)
	}
	if want := []string{r.ID, named.ID, all.ID}; !slices.Equal(ids, want) {
		t.Errorf("RolloutsToDrive = %v, want %v", ids, want)
	}
}

func testUpdateRolloutOncePerStep(t *testing.T, s driverhub.Store) {
	tn, _, _, r := rolloutFixture(t, s, 0)
	a, b := *r, *r
	a.Wave, a.UpdatedAt = 2, now()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateRollout(ctx, &a) })
	if a.Step != r.Step+1 {
		t.Errorf("step after an update = %d, want %d", a.Step, r.Step+1)
	}
	b.State = driverhub.RolloutCancelled
	wantIs(t, "a second update from the same step", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.UpdateRollout(ctx, &b)
	}), driverhub.ErrConflict)
	got := readRollout(t, s, tn.ID, r.ID)
	if got.Wave != 2 || got.State != driverhub.RolloutRunning || got.Step != a.Step {
		t.Errorf("after two updates from one step: wave %d, state %s, step %d; want the first's", got.Wave, got.State, got.Step)
	}
	// From the step it read, the next update goes through.
	a.State, a.FinishedAt, a.Reason = driverhub.RolloutAborted, ptrTime(now()), "wave 2: 3 of 10 failed"
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateRollout(ctx, &a) })
	if diff := cmp.Diff(&a, readRollout(t, s, tn.ID, r.ID)); diff != "" {
		t.Errorf("after the second step (-want +got):\n%s", diff)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func testUpdateRolloutConcurrently(t *testing.T, s driverhub.Store) {
	_, _, _, r := rolloutFixture(t, s, 0)
	ctx := t.Context()
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for k := range writers {
		wg.Go(func() {
			err := s.Update(context.WithoutCancel(ctx), func(tx driverhub.Tx) error {
				cur, err := tx.RolloutByID(ctx, "", r.ID)
				if err != nil {
					return err
				}
				if cur.Wave != 1 {
					return nil // another writer took the step: nothing to do
				}
				cur.Wave, cur.Reason = 2, fmt.Sprintf("writer %d", k)
				return tx.UpdateRollout(ctx, cur)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case errors.Is(err, driverhub.ErrConflict):
				return
			default:
				t.Error(err)
				return
			}
			won++
		})
	}
	wg.Wait()
	got := readRollout(t, s, "", r.ID)
	if got.Step != r.Step+1 || got.Wave != 2 {
		t.Errorf("after %d concurrent writers from one step: step %d (want %d), wave %d", writers, got.Step, r.Step+1, got.Wave)
	}
	if won < 1 {
		t.Errorf("no writer succeeded")
	}
}

func testLeaseRollout(t *testing.T, s driverhub.Store) {
	_, _, _, r := rolloutFixture(t, s, 0)
	at := now()
	lease := func(owner string, until, now time.Time) bool {
		return fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) {
			return tx.LeaseRollout(ctx, r.ID, owner, until, now)
		})
	}
	for _, tc := range []struct {
		what        string
		owner       string
		until, when time.Time
		want        bool
	}{
		{"a free lease", "a", at.Add(10 * time.Second), at, true},
		{"another owner, before the end", "b", at.Add(20 * time.Second), at.Add(5 * time.Second), false},
		{"the owner renewing", "a", at.Add(30 * time.Second), at.Add(5 * time.Second), true},
		{"another owner, at the end", "b", at.Add(40 * time.Second), at.Add(30 * time.Second), true},
		{"a release by another", "a", time.Time{}, at.Add(31 * time.Second), false},
		{"a release by the owner", "b", time.Time{}, at.Add(31 * time.Second), true},
		{"a released lease", "a", at.Add(50 * time.Second), at.Add(32 * time.Second), true},
	} {
		if got := lease(tc.owner, tc.until, tc.when); got != tc.want {
			t.Errorf("%s: LeaseRollout = %v, want %v", tc.what, got, tc.want)
		}
	}
	if got := readRollout(t, s, "", r.ID); got.Step != r.Step {
		t.Errorf("leases changed the step: %d, want %d", got.Step, r.Step)
	}
}

func testRolloutEventsAndStats(t *testing.T, s driverhub.Store) {
	tn, d, is, r := rolloutFixture(t, s, 3)
	targetsOf(t, s, r, is, driverhub.TargetPending, driverhub.TargetSucceeded, driverhub.TargetSucceeded)
	ended := newRollout(tn, d, "ended")
	ended.State = driverhub.RolloutAborted
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, ended) })
	targetsOf(t, s, ended, is, driverhub.TargetFailed)
	at := now()
	events := []driverhub.RolloutEvent{
		{ID: driverhub.NewID(), RolloutID: r.ID, Time: at, Type: driverhub.EventCreated, Message: "created by admin"},
		{ID: driverhub.NewID(), RolloutID: r.ID, Time: at, Type: driverhub.EventWaveStarted, Wave: 1, Message: "wave 1 started: 3 targets"},
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return errors.Join(tx.AddRolloutEvent(ctx, &events[1]), tx.AddRolloutEvent(ctx, &events[0]))
	})
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.RolloutEvent, error) {
		return tx.RolloutEvents(ctx, r.ID)
	})
	if diff := cmp.Diff(events, got); diff != "" {
		t.Errorf("RolloutEvents, oldest first (-want +got):\n%s", diff)
	}
	st := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.RolloutStats, error) {
		return tx.RolloutStats(ctx)
	})
	want := driverhub.RolloutStats{
		Rollouts: map[driverhub.RolloutState]int{driverhub.RolloutRunning: 1, driverhub.RolloutAborted: 1},
		Targets:  map[driverhub.TargetState]int{driverhub.TargetPending: 1, driverhub.TargetSucceeded: 2},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("RolloutStats: rollouts, and targets of active ones (-want +got):\n%s", diff)
	}
}
