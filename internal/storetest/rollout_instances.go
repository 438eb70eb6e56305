package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// Which instances and deployments rollouts cover: the rollouts behind
// deployments, the candidates of a new rollout and the instances an active
// one holds.

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
