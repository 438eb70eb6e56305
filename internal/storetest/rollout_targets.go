package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// The targets of a rollout: how they are stored, listed, counted, claimed,
// read through their deployments, failed at a wave's timeout and offered
// for a rollback.

// newTarget returns a target of r on instance i in the given wave and state.
func newTarget(r *driverhub.Rollout, i *driverhub.Instance, wave int, state driverhub.TargetState) *driverhub.RolloutTarget {
	return &driverhub.RolloutTarget{RolloutID: r.ID, InstanceID: i.ID, Instance: i.Name, Wave: wave, State: state,
		Recorded: state, Problems: []driverhub.Problem{}, UpdatedAt: now()}
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
