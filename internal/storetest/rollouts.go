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

// newTarget returns a target of r on instance i in the given wave and state.
func newTarget(r *driverhub.Rollout, i *driverhub.Instance, wave int, state driverhub.TargetState) *driverhub.RolloutTarget {
	return &driverhub.RolloutTarget{RolloutID: r.ID, InstanceID: i.ID, Instance: i.Name, Wave: wave, State: state,
		Recorded: state, Problems: []driverhub.Problem{}, UpdatedAt: now()}
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

func testRolloutTargets(t *testing.T, s driverhub.Store) {
	const n = 450 // more than one INSERT's worth
	_, _, is, r := rolloutFixture(t, s, n)
	var ts []*driverhub.RolloutTarget
	for k, i := range is {
		x := newTarget(r, i, driverhub.WaveOf(r.Percents, k, n), driverhub.TargetWaiting)
		if k%50 == 7 {
			x.Wave, x.State, x.Recorded = 0, driverhub.TargetSkipped, driverhub.TargetSkipped
			x.Problems = []driverhub.Problem{{Resource: "instance " + i.Name, Code: driverhub.ProblemNotBound, Message: "meter is not bound — 未绑定"}}
		}
		ts = append(ts, x)
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRolloutTargets(ctx, ts) })

	var got []*driverhub.RolloutTarget
	for p := (driverhub.Page{Limit: 100}); ; {
		l := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.RolloutTarget], error) {
			return tx.ListRolloutTargets(ctx, r.ID, "", p)
		})
		got = append(got, l.Items...)
		if l.NextCursor == "" {
			break
		}
		p.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(ts, got); diff != "" {
		t.Errorf("ListRolloutTargets, every page (-want +got):\n%s", diff)
	}
	skipped := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.RolloutTarget], error) {
		return tx.ListRolloutTargets(ctx, r.ID, driverhub.TargetSkipped, driverhub.Page{Limit: 500})
	})
	if len(skipped.Items) != 9 || skipped.Items[0].Instance != "gw007" {
		t.Errorf("skipped targets: %d, first %v; want 9 from gw007", len(skipped.Items), skipped.Items[0])
	}

	counts := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.TargetCount, error) {
		return tx.CountRolloutTargets(ctx, r.ID, 0)
	})
	byWave := map[int]int{}
	for _, c := range counts {
		byWave[c.Wave] += c.N
	}
	// ceil(1%·450) = 5, ceil(10%) = 45, ceil(50%) = 225: nine of those skipped along the way.
	if want := map[int]int{0: 9, 1: 5, 2: 39, 3: 176, 4: 221}; !cmp.Equal(byWave, want) {
		t.Errorf("CountRolloutTargets by wave = %v, want %v", byWave, want)
	}
	wave2 := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.TargetCount, error) {
		return tx.CountRolloutTargets(ctx, r.ID, 2)
	})
	if want := []driverhub.TargetCount{{Wave: 2, State: driverhub.TargetWaiting, N: 39}}; !cmp.Equal(wave2, want) {
		t.Errorf("CountRolloutTargets of wave 2 = %v, want %v", wave2, want)
	}
	waiting := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.RolloutTarget, error) {
		return tx.WaitingRolloutTargets(ctx, r.ID, 2, 30)
	})
	if len(waiting) != 30 || waiting[0].Instance != "gw000" || waiting[29].Wave != 2 || slices.ContainsFunc(waiting, func(x *driverhub.RolloutTarget) bool { return x.State != driverhub.TargetWaiting }) {
		t.Errorf("WaitingRolloutTargets(wave 2, 30): %d, first %s; want 30 waiting targets from gw000", len(waiting), waiting[0].Instance)
	}
	if w := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.RolloutTarget, error) {
		return tx.WaitingRolloutTargets(ctx, r.ID, 1, 100)
	}); len(w) != 5 {
		t.Errorf("WaitingRolloutTargets(wave 1) = %d targets, want the 5 of wave 1", len(w))
	}
}

// targetsOf stores targets of r, one per instance, in the given states (wave 1).
func targetsOf(t testing.TB, s driverhub.Store, r *driverhub.Rollout, is []*driverhub.Instance, states ...driverhub.TargetState) []*driverhub.RolloutTarget {
	t.Helper()
	var ts []*driverhub.RolloutTarget
	for k, st := range states {
		ts = append(ts, newTarget(r, is[k], 1, st))
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRolloutTargets(ctx, ts) })
	return ts
}

func readTargets(t testing.TB, s driverhub.Store, r *driverhub.Rollout) []*driverhub.RolloutTarget {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.RolloutTarget], error) {
		return tx.ListRolloutTargets(ctx, r.ID, "", driverhub.Page{Limit: 500})
	}).Items
}

// deployTargets gives each target a deployment of its instance in the
// given status (reason "reason <k>") and records it deployed ("pending");
// it returns the targets as a read returns them.
func deployTargets(t testing.TB, s driverhub.Store, is []*driverhub.Instance, ts []*driverhub.RolloutTarget, statuses ...driverhub.DeployStatus) {
	t.Helper()
	for k, x := range ts {
		d := edgeDeployment(is[k], statuses[k], nil)
		d.Reason = fmt.Sprintf("reason %d", k)
		create(t, s, d)
		from := x.Recorded
		x.State, x.Recorded, x.DeploymentID, x.PreviousVersion = driverhub.TargetPending, driverhub.TargetPending, d.ID, "1.0.0"
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UpdateRolloutTarget(ctx, x, from)
			return err
		})
		x.State, x.DeployStatus, x.DeployReason = driverhub.TargetStateOf(statuses[k]), statuses[k], d.Reason
	}
}

func testUpdateRolloutTarget(t *testing.T, s driverhub.Store) {
	_, _, is, r := rolloutFixture(t, s, 2)
	ts := targetsOf(t, s, r, is, driverhub.TargetWaiting, driverhub.TargetWaiting)
	x := *ts[0]
	x.State, x.DeploymentID, x.PreviousVersion, x.UpdatedAt = driverhub.TargetFailed, "", "", now()
	x.Problems = []driverhub.Problem{{Resource: "driver meter", Code: driverhub.ProblemEdgeVersionTooOld, Message: "needs 2.0.0"}}
	var first, second bool
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		var err error
		first, err = tx.UpdateRolloutTarget(ctx, &x, driverhub.TargetWaiting)
		return err
	})
	y := *ts[0]
	y.State = driverhub.TargetSuperseded
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		var err error
		second, err = tx.UpdateRolloutTarget(ctx, &y, driverhub.TargetWaiting)
		return err
	})
	if !first || second {
		t.Errorf("two claims of one waiting target: %v, %v; want true, false", first, second)
	}
	x.Recorded = x.State
	if diff := cmp.Diff([]*driverhub.RolloutTarget{&x, ts[1]}, readTargets(t, s, r)); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	// A refused rollback is kept, with its problems, and its target is
	// not offered for a rollback again.
	deployTargets(t, s, is[1:], ts[1:], driverhub.DeploySucceeded)
	z := *ts[1]
	z.State, z.RollbackRefused = driverhub.TargetPending, true
	z.Problems = []driverhub.Problem{{Resource: "instance gw001", Code: driverhub.ProblemRollbackFailed, Message: "version 1.0.0 no longer exists"}}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UpdateRolloutTarget(ctx, &z, driverhub.TargetPending)
		return err
	})
	z.State = driverhub.TargetSucceeded
	if diff := cmp.Diff(&z, readTargets(t, s, r)[1]); diff != "" {
		t.Errorf("target with a refused rollback (-want +got):\n%s", diff)
	}
	if back := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.RolloutTarget, error) {
		return tx.RolloutTargetsToRollBack(ctx, r.ID, 10)
	}); len(back) != 0 {
		t.Errorf("a target whose rollback was refused is offered again: %v", back)
	}
}

func testDeployedTargetsReadAsTheirDeployments(t *testing.T, s driverhub.Store) {
	_, _, is, r := rolloutFixture(t, s, 7)
	ts := targetsOf(t, s, r, is, driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting,
		driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting)
	deployTargets(t, s, is[:6], ts[:6], driverhub.DeployPending, driverhub.DeployProcessing, driverhub.DeploySucceeded,
		driverhub.DeployFailed, driverhub.DeploySuperseded, driverhub.DeployClosed)
	// gw006 was deployed by a deployment that no longer exists (its instance was deleted).
	gone := *ts[6]
	gone.State, gone.DeploymentID = driverhub.TargetPending, driverhub.NewID()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UpdateRolloutTarget(ctx, &gone, driverhub.TargetWaiting)
		return err
	})
	gone.Recorded, gone.State = driverhub.TargetPending, driverhub.TargetSuperseded
	want := append(ts[:6:6], &gone)
	if diff := cmp.Diff(want, readTargets(t, s, r)); diff != "" {
		t.Errorf("deployed targets read as their deployments (-want +got):\n%s", diff)
	}
	superseded := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.RolloutTarget], error) {
		return tx.ListRolloutTargets(ctx, r.ID, driverhub.TargetSuperseded, driverhub.Page{})
	})
	var names []string
	for _, x := range superseded.Items {
		names = append(names, x.Instance)
	}
	if want := []string{"gw004", "gw005", "gw006"}; !slices.Equal(names, want) {
		t.Errorf("superseded targets = %v, want %v (superseded, closed, deployment gone)", names, want)
	}
	counts := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.TargetCount, error) {
		return tx.CountRolloutTargets(ctx, r.ID, 0)
	})
	wantCounts := []driverhub.TargetCount{{Wave: 1, State: driverhub.TargetFailed, N: 1}, {Wave: 1, State: driverhub.TargetPending, N: 1},
		{Wave: 1, State: driverhub.TargetProcessing, N: 1}, {Wave: 1, State: driverhub.TargetSucceeded, N: 1}, {Wave: 1, State: driverhub.TargetSuperseded, N: 3}}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("CountRolloutTargets (-want +got):\n%s", diff)
	}
}

func testFailUnfinishedTargets(t *testing.T, s driverhub.Store) {
	_, _, is, r := rolloutFixture(t, s, 6)
	ts := targetsOf(t, s, r, is, driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting,
		driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting)
	deployTargets(t, s, is[1:5], ts[1:5], driverhub.DeployPending, driverhub.DeployProcessing,
		driverhub.DeploySucceeded, driverhub.DeployClosed)
	skipped := *ts[5]
	skipped.State = driverhub.TargetSuperseded
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UpdateRolloutTarget(ctx, &skipped, driverhub.TargetWaiting)
		return err
	})
	ps := []driverhub.Problem{{Resource: "wave 1", Code: driverhub.ProblemWaveTimeout, Message: "no final report within 30m"}}
	if n := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) {
		return tx.FailUnfinishedTargets(ctx, r.ID, 2, ps, now())
	}); n != 0 {
		t.Errorf("FailUnfinishedTargets of an empty wave = %d", n)
	}
	if n := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) {
		return tx.FailUnfinishedTargets(ctx, r.ID, 1, ps, now())
	}); n != 3 {
		t.Errorf("FailUnfinishedTargets = %d, want the 3 unfinished", n)
	}
	var states []driverhub.TargetState
	for _, x := range readTargets(t, s, r) {
		states = append(states, x.State)
	}
	want := []driverhub.TargetState{driverhub.TargetFailed, driverhub.TargetFailed, driverhub.TargetFailed,
		driverhub.TargetSucceeded, driverhub.TargetSuperseded, driverhub.TargetSuperseded}
	if !slices.Equal(states, want) {
		t.Errorf("states after the wave timeout = %v, want %v", states, want)
	}
	// A target failed at the wave timeout stays failed when its deployment succeeds after all.
	if got := readTargets(t, s, r)[1]; got.Recorded != driverhub.TargetFailed || !cmp.Equal(got.Problems, ps) {
		t.Errorf("gw001 after the timeout: recorded %s, problems %v", got.Recorded, got.Problems)
	}
}

func testRolloutsOfDeployments(t *testing.T, s driverhub.Store) {
	tn, d, is, r := rolloutFixture(t, s, 3)
	ended := newRollout(tn, d, "ended")
	ended.State = driverhub.RolloutSucceeded
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, ended) })
	ts := targetsOf(t, s, r, is[:2], driverhub.TargetWaiting, driverhub.TargetWaiting)
	deployTargets(t, s, is[:1], ts[:1], driverhub.DeployFailed)
	old := targetsOf(t, s, ended, is[2:], driverhub.TargetWaiting)
	deployTargets(t, s, is[2:], old, driverhub.DeploySucceeded)
	user := edgeDeployment(is[1], driverhub.DeployPending, nil)
	create(t, s, user)
	for _, tc := range []struct {
		ids  []string
		want []string
	}{
		{[]string{ts[0].DeploymentID}, []string{r.ID}},
		{[]string{user.ID, driverhub.NewID()}, []string{}},
		{[]string{old[0].DeploymentID, ts[0].DeploymentID, user.ID}, []string{r.ID, ended.ID}},
	} {
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]string, error) {
			return tx.RolloutsOfDeployments(ctx, tc.ids)
		})
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("RolloutsOfDeployments(%v) = %v, want %v", tc.ids, got, tc.want)
		}
	}
	on := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]string, error) {
		return tx.ActiveRolloutsOn(ctx, []string{is[0].ID, is[1].ID, is[2].ID})
	})
	if !slices.Equal(on, []string{r.ID}) {
		t.Errorf("ActiveRolloutsOn = %v, want the running rollout alone", on)
	}
}

func testRolloutTargetsToRollBack(t *testing.T, s driverhub.Store) {
	_, _, is, r := rolloutFixture(t, s, 7)
	ts := targetsOf(t, s, r, is, driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting,
		driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting, driverhub.TargetWaiting)
	deployTargets(t, s, is[:5], ts[:5], driverhub.DeployPending, driverhub.DeployProcessing, driverhub.DeploySucceeded,
		driverhub.DeployFailed, driverhub.DeploySuperseded)
	// gw005 failed its check: its binding never changed; gw006 waits.
	check := *ts[5]
	check.State = driverhub.TargetFailed
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UpdateRolloutTarget(ctx, &check, driverhub.TargetWaiting)
		return err
	})
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.RolloutTarget, error) {
		return tx.RolloutTargetsToRollBack(ctx, r.ID, 2)
	})
	all := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.RolloutTarget, error) {
		return tx.RolloutTargetsToRollBack(ctx, r.ID, 100)
	})
	var names []string
	for _, x := range all {
		names = append(names, x.Instance)
	}
	if want := []string{"gw000", "gw001", "gw002", "gw003"}; !slices.Equal(names, want) || len(got) != 2 {
		t.Errorf("RolloutTargetsToRollBack = %v (limit 2: %d); want %v", names, len(got), want)
	}
}

func testRolloutCandidates(t *testing.T, s driverhub.Store) {
	tn, d, is, _ := rolloutFixture(t, s, 3)
	other := newDriver(tn, "other")
	b := edgeBinding(is[1], tn, d, "1.0.0")
	create(t, s, other, b, edgeBinding(is[2], tn, other, "3.0.0"))
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.RolloutCandidate, error) {
		return tx.RolloutCandidates(ctx, tn.ID, "meter")
	})
	want := []driverhub.RolloutCandidate{
		{InstanceID: is[0].ID, Instance: "gw000", Tags: is[0].Tags},
		{InstanceID: is[1].ID, Instance: "gw001", Tags: is[1].Tags, BindingID: b.ID, DriverID: d.ID, Version: "1.0.0"},
		{InstanceID: is[2].ID, Instance: "gw002", Tags: is[2].Tags},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RolloutCandidates (-want +got):\n%s", diff)
	}
}

func testActiveRolloutInstances(t *testing.T, s driverhub.Store) {
	tn, d, is, r := rolloutFixture(t, s, 4)
	targetsOf(t, s, r, is[:2], driverhub.TargetWaiting, driverhub.TargetSkipped)
	done := newRollout(tn, d, "done")
	done.State = driverhub.RolloutCancelled
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, done) })
	targetsOf(t, s, done, is[2:], driverhub.TargetSucceeded)
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (map[string]*driverhub.Rollout, error) {
		return tx.ActiveRolloutInstances(ctx, tn.ID, d.ID)
	})
	if len(got) != 1 || got[is[0].ID] == nil || got[is[0].ID].ID != r.ID {
		t.Errorf("ActiveRolloutInstances = %v, want gw000 of the running rollout alone", got)
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
