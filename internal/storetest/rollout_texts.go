package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// A rollout's texts (its reason, its events, its targets' problems) come
// back with the format and the typed arguments that made them, so that a
// console shows them in its reader's language: a Word stays a Word, a
// TargetState a TargetState, an int an int, a message given as an
// argument a Message.

// typedArgs are arguments of every sort a rollout's texts hold.
func typedArgs() []any {
	return []any{driverhub.Word("wave"), driverhub.TargetFailed, driverhub.DeploySucceeded, 3, "gw000 — 上海",
		driverhub.Messagef("wave %d: %s", 2, driverhub.RolloutAborted)}
}

func testRolloutReasonText(t *testing.T, s driverhub.Store) {
	tn, d, _, r := rolloutFixture(t, s, 0)
	why := driverhub.Messagef("wave %d: %d of %d targets failed (%d%%), above the failure threshold of %d%%", 1, 2, 10, 20, 10)
	a := *r
	a.State, a.FinishedAt = driverhub.RolloutAborted, ptrTime(now())
	a.SetReason(why)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateRollout(ctx, &a) })
	got := readRollout(t, s, tn.ID, r.ID)
	if diff := cmp.Diff(&a, got); diff != "" {
		t.Errorf("an aborted rollout (-want +got):\n%s", diff)
	}
	if got.ReasonFormat != why.Format || got.Reason != why.String() {
		t.Errorf("reason %q, format %q; want %q made by %q", got.Reason, got.ReasonFormat, why.String(), why.Format)
	}
	// One created with a reason keeps it too.
	ended := newRollout(tn, d, "cancelled")
	ended.State = driverhub.RolloutCancelled
	ended.SetReason(driverhub.Messagef("cancelled by %s: %s %s %s %d %s %s", append([]any{"admin"}, typedArgs()...)...))
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRollout(ctx, ended) })
	if diff := cmp.Diff(ended, readRollout(t, s, tn.ID, ended.ID)); diff != "" {
		t.Errorf("a rollout created with a reason (-want +got):\n%s", diff)
	}
}

func testRolloutEventText(t *testing.T, s driverhub.Store) {
	_, _, _, r := rolloutFixture(t, s, 0)
	at := now()
	m := driverhub.Messagef("aborted: %s %s %s %d %s %s", typedArgs()...)
	events := []driverhub.RolloutEvent{
		{ID: driverhub.NewID(), RolloutID: r.ID, Time: at, Type: driverhub.EventAborted, Wave: 2,
			Message: m.String(), Format: m.Format, Args: m.Args},
		{ID: driverhub.NewID(), RolloutID: r.ID, Time: at.Add(time.Microsecond), Type: driverhub.EventPaused,
			Message: "paused by admin", Format: "paused by %s", Args: []any{"admin"}},
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for i := range events {
			if err := tx.AddRolloutEvent(ctx, &events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.RolloutEvent, error) {
		return tx.RolloutEvents(ctx, r.ID)
	})
	if diff := cmp.Diff(events, got); diff != "" {
		t.Errorf("RolloutEvents with formats (-want +got):\n%s", diff)
	}
}

func testRolloutProblemText(t *testing.T, s driverhub.Store) {
	_, _, is, r := rolloutFixture(t, s, 3)
	skipped := newTarget(r, is[0], 0, driverhub.TargetSkipped)
	skipped.Problems = []driverhub.Problem{driverhub.NewProblem("instance gw000", driverhub.ProblemNotBound,
		"%s is not bound to instance %s", "meter", "gw000")}
	ts := []*driverhub.RolloutTarget{skipped, newTarget(r, is[1], 1, driverhub.TargetWaiting), newTarget(r, is[2], 1, driverhub.TargetWaiting)}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateRolloutTargets(ctx, ts) })

	failed := *ts[1]
	failed.State, failed.UpdatedAt = driverhub.TargetFailed, now()
	failed.Problems = []driverhub.Problem{
		driverhub.NewProblem("driver meter", driverhub.ProblemEdgeVersionTooOld, "%s %s %s %d %s %s", typedArgs()...),
		{Resource: "deployment x", Code: driverhub.ProblemDeploymentFailed, Message: "the gateway's own words"},
		{Code: driverhub.EInvalid, Field: "driver_config", Message: "must be an object", Format: "must be an object"},
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UpdateRolloutTarget(ctx, &failed, driverhub.TargetWaiting)
		return err
	})
	failed.Recorded = failed.State
	timeout := []driverhub.Problem{driverhub.NewProblem("wave 1", driverhub.ProblemWaveTimeout,
		"no final report within the wave timeout (%s): counted as failed", "30m")}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.FailUnfinishedTargets(ctx, r.ID, 1, timeout, now())
		return err
	})
	got := readTargets(t, s, r)
	if len(got) != 3 {
		t.Fatalf("%d targets, want 3", len(got))
	}
	for i, want := range [][]driverhub.Problem{skipped.Problems, failed.Problems, timeout} {
		if diff := cmp.Diff(want, got[i].Problems); diff != "" {
			t.Errorf("%s's problems (-want +got):\n%s", got[i].Instance, diff)
		}
	}
}
