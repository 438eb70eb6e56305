package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

func TestRolloutInWavesSucceeds(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 20, "sh")
	f.addInstance(t, "other-site", map[string]string{"site": "bj"}, true)
	r := f.create(t, rolloutIn("sh", 10, 50, 100))

	// ceil(10%·20) = 2, ceil(50%·20) = 10: the waves hold 2, 8 and 10 targets.
	if diff := cmp.Diff([]string{"running 2 0/0/2", "waiting 8 0/0/8", "waiting 10 0/0/10"}, waveSummary(r)); diff != "" {
		t.Errorf("waves at the start (-want +got):\n%s", diff)
	}
	pending := f.targets(t, r.ID, driverhub.TargetPending)
	if len(pending) != 2 || pending[0].Instance != "gw000" || pending[1].Instance != "gw001" {
		t.Fatalf("pending after creation: %v, want gw000 and gw001 (wave 1, by name)", statesOf(pending))
	}
	// Wave 1's targets are bound to 2 and deployed; the rest wait, untouched.
	m, _ := ts.fetch(t, f.secrets["gw000"], "")
	if m.DeploymentID != pending[0].DeploymentID || m.Drivers[0].Version != "2" {
		t.Errorf("gw000 fetched %s with meter %s, want the rollout's deployment %s with meter 2", m.DeploymentID, m.Drivers[0].Version, pending[0].DeploymentID)
	}
	if got := f.targets(t, r.ID, driverhub.TargetProcessing); len(got) != 1 || got[0].Instance != "gw000" {
		t.Errorf("processing after gw000's first fetch: %v", statesOf(got))
	}
	if v := f.boundVersion(t, "gw002"); v != "1" || len(f.deployments(t, "gw002")) != 0 {
		t.Errorf("gw002 (wave 2) before wave 2: bound to %s with %d deployments, want 1 and none", v, len(f.deployments(t, "gw002")))
	}

	for wave := 1; wave <= 3; wave++ {
		f.answerWave(t, r.ID, wave, driverhub.DeploySucceeded)
	}
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutSucceeded || r.FinishedAt == nil {
		t.Fatalf("rollout after every wave succeeded: %s (%s)", r.State, r.Reason)
	}
	if diff := cmp.Diff([]string{"succeeded 2 2/0/0", "succeeded 8 8/0/0", "succeeded 10 10/0/0"}, waveSummary(r)); diff != "" {
		t.Errorf("waves at the end (-want +got):\n%s", diff)
	}
	if r.Counts[driverhub.TargetSucceeded] != 20 || r.Counts[driverhub.TargetSkipped] != 0 {
		t.Errorf("counts: %v", r.Counts)
	}
	for _, name := range f.names[:20] {
		if v, n := f.boundVersion(t, name), len(f.deployments(t, name)); v != "2" || n != 1 {
			t.Errorf("%s: bound to %s with %d deployments, want 2 with exactly one", name, v, n)
		}
	}
	if n := len(f.deployments(t, "other-site")); n != 0 {
		t.Errorf("an instance the selector does not match got %d deployments", n)
	}
	want := []driverhub.RolloutEventType{driverhub.EventCreated, driverhub.EventWaveStarted, driverhub.EventWaveSucceeded,
		driverhub.EventWaveStarted, driverhub.EventWaveSucceeded, driverhub.EventWaveStarted, driverhub.EventWaveSucceeded, driverhub.EventSucceeded}
	if diff := cmp.Diff(want, eventTypes(r)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestRolloutAbortsAboveTheFailureThresholdAndRollsBack(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 20, "sh")
	in := rolloutIn("sh", 50, 100)
	in.SuccessThreshold, in.FailureThreshold = ptr(80), ptr(10)
	r := f.create(t, in)
	// Wave 1: gw000…gw009. One failure is 10%, not above the threshold.
	f.answer(t, "gw000", driverhub.DeploySucceeded)
	f.answer(t, "gw001", driverhub.DeployFailed)
	f.answer(t, "gw002", driverhub.DeploySucceeded)
	if r = f.get(t, r.ID); r.State != driverhub.RolloutRunning {
		t.Fatalf("after 1 failure of 10 (10%%): %s, want running", r.State)
	}
	m, _ := ts.fetch(t, f.secrets["gw003"], "") // gw003 is processing, the others of wave 1 pending
	f.answer(t, "gw004", driverhub.DeployFailed)
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutAborted || !strings.Contains(r.Reason, "2 of 10 targets failed (20%), above the failure threshold of 10%") {
		t.Fatalf("after 2 failures of 10: %s (%q), want aborted naming the numbers", r.State, r.Reason)
	}
	// Every target whose binding the rollout changed — succeeded, failed,
	// in flight — is bound to 1 again with a new deployment of it.
	for k, name := range f.names[:10] {
		deps := f.deployments(t, name)
		if v := f.boundVersion(t, name); v != "1" || len(deps) != 2 {
			t.Errorf("%s after the rollback: bound to %s with %d deployments, want 1 with 2", name, v, len(deps))
			continue
		}
		if newest := ts.deployment(t, ts.admin, name, deps[0].ID); newest.Status != driverhub.DeployPending || newest.Manifest.Drivers[0].Version != "1" {
			t.Errorf("%s: rollback deployment is %s with meter %s, want pending with meter 1", name, newest.Status, newest.Manifest.Drivers[0].Version)
		}
		if k == 3 && deps[1].ID != m.DeploymentID {
			t.Errorf("gw003's first deployment %s is not the one it was processing (%s)", deps[1].ID, m.DeploymentID)
		}
	}
	// The in-flight forward deployments were superseded by the rollback.
	if d := ts.deployment(t, ts.admin, "gw003", m.DeploymentID); d.Status != driverhub.DeploySuperseded {
		t.Errorf("gw003's forward deployment is %s after the rollback, want superseded", d.Status)
	}
	m2, _ := ts.fetch(t, f.secrets["gw003"], "")
	if m2.Drivers[0].Version != "1" {
		t.Errorf("gw003 fetched meter %s after the rollback, want 1", m2.Drivers[0].Version)
	}
	// Wave 2 never started: untouched.
	for _, name := range f.names[10:] {
		if v, n := f.boundVersion(t, name), len(f.deployments(t, name)); v != "1" || n != 0 {
			t.Errorf("%s (wave 2) after the abort: bound to %s with %d deployments, want untouched", name, v, n)
		}
	}
	r = f.get(t, r.ID)
	if r.Counts[driverhub.TargetRolledBack] != 10 || r.Counts[driverhub.TargetWaiting] != 10 {
		t.Errorf("counts after the rollback: %v, want 10 rolled_back and 10 waiting", r.Counts)
	}
	if diff := cmp.Diff([]string{"failed 10 0/0/0", "stopped 10 0/0/10"}, waveSummary(r)); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
	if r.Waves[0].RolledBack != 10 {
		t.Errorf("wave 1 rolled back %d, want 10", r.Waves[0].RolledBack)
	}
	types := eventTypes(r)
	if !slices.Contains(types, driverhub.EventAborted) || types[len(types)-1] != driverhub.EventRolledBack ||
		!strings.Contains(r.Events[len(r.Events)-1].Message, "rolled back 10 targets") {
		t.Errorf("events %v, last %q; want aborted, then rolled back 10 targets", types, r.Events[len(r.Events)-1].Message)
	}
	// Driving it again changes nothing: the rollback happened once.
	ok(t, ts.SweepRollouts(ts.admin))
	for _, name := range f.names[:10] {
		if n := len(f.deployments(t, name)); n != 2 {
			t.Errorf("%s has %d deployments after another sweep, want 2", name, n)
		}
	}
}

func TestRolloutOnAbortStopLeavesTargets(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	in := rolloutIn("sh")
	in.OnAbort = driverhub.OnAbortStop
	r := f.create(t, in)
	f.answer(t, "gw000", driverhub.DeployFailed) // failure threshold 0 by default
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutAborted {
		t.Fatalf("after a failure with the default thresholds: %s", r.State)
	}
	for _, name := range f.names {
		if v, n := f.boundVersion(t, name), len(f.deployments(t, name)); v != "2" || n != 1 {
			t.Errorf("%s after an abort with on_abort stop: bound to %s with %d deployments, want 2 with its one", name, v, n)
		}
	}
}

func TestRolloutWaveFailsWhenTheSuccessThresholdIsOutOfReach(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 10, "sh")
	in := rolloutIn("sh")
	in.SuccessThreshold, in.FailureThreshold = ptr(90), ptr(50)
	r := f.create(t, in)
	f.answer(t, "gw000", driverhub.DeployFailed)
	if r = f.get(t, r.ID); r.State != driverhub.RolloutRunning {
		t.Fatalf("1 failure of 10, 90%% still reachable: %s", r.State)
	}
	f.answer(t, "gw001", driverhub.DeployFailed)
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutAborted || !strings.Contains(r.Reason, "can no longer reach the success threshold of 90%") {
		t.Errorf("2 failures of 10 with 90%% needed: %s (%q), want aborted at once", r.State, r.Reason)
	}
}

func TestRolloutTargetRefusedByTheDeployCheckFails(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 3, "sh")
	ts.newVersion(t, ts.admin, "meter", "3", func(in *driverhub.VersionInput) { in.MinEdgeVersion = ptr("2.0.0") })
	ts.upload(t, ts.admin, "meter", "3")
	must(ts.PublishVersion(ts.admin, "meter", "3"))(t)
	ts.report(t, f.secrets["gw001"], driverhub.GatewayReport{EdgeVersion: "1.5.0"})
	in := rolloutIn("sh")
	in.Version, in.SuccessThreshold, in.FailureThreshold = "3", ptr(50), ptr(50)
	r := f.create(t, in)
	targets := f.targets(t, r.ID, "")
	if got := statesOf(targets); !cmp.Equal(got, map[string]driverhub.TargetState{"gw000": "pending", "gw001": "failed", "gw002": "pending"}) {
		t.Fatalf("targets: %v, want gw001 failed by its check", got)
	}
	if ps := targets[1].Problems; len(ps) != 1 || ps[0].Code != driverhub.ProblemEdgeVersionTooOld || targets[1].DeploymentID != "" {
		t.Errorf("gw001's problems %+v (deployment %q), want edge_version_too_old and no deployment", ps, targets[1].DeploymentID)
	}
	if v, n := f.boundVersion(t, "gw001"), len(f.deployments(t, "gw001")); v != "1" || n != 0 {
		t.Errorf("gw001 after its refused deployment: bound to %s with %d deployments, want 1 and none", v, n)
	}
}

func TestRolloutPauseAndResume(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	r := f.create(t, rolloutIn("sh", 50, 100))
	r = must(ts.PauseRollout(ts.admin, r.ID))(t)
	if r.State != driverhub.RolloutPaused {
		t.Fatalf("paused: %s", r.State)
	}
	wantErr(t, must2(ts.PauseRollout(ts.admin, r.ID)), driverhub.EConflict, "")
	f.answerWave(t, r.ID, 1, driverhub.DeploySucceeded)
	r = f.get(t, r.ID)
	if diff := cmp.Diff([]string{"succeeded 2 2/0/0", "waiting 2 0/0/2"}, waveSummary(r)); diff != "" || r.State != driverhub.RolloutPaused {
		t.Fatalf("paused rollout after wave 1 succeeded: %s, waves (-want +got):\n%s", r.State, diff)
	}
	if n := len(f.deployments(t, "gw002")); n != 0 {
		t.Fatalf("a paused rollout deployed wave 2: gw002 has %d deployments", n)
	}
	r = must(ts.ResumeRollout(ts.admin, r.ID))(t)
	f.settle(t)
	if got := f.targets(t, r.ID, driverhub.TargetPending); len(got) != 2 || got[0].Wave != 2 {
		t.Fatalf("after resume: pending %v, want wave 2's two targets", statesOf(got))
	}
	f.answerWave(t, r.ID, 2, driverhub.DeploySucceeded)
	r = f.get(t, r.ID)
	types := eventTypes(r)
	if r.State != driverhub.RolloutSucceeded || !slices.Contains(types, driverhub.EventPaused) || !slices.Contains(types, driverhub.EventResumed) {
		t.Errorf("after resume and wave 2: %s, events %v", r.State, types)
	}
	wantErr(t, must2(ts.ResumeRollout(ts.admin, r.ID)), driverhub.EConflict, "")
}

func TestRolloutCreatedPausedStartsOnResume(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 2, "sh")
	in := rolloutIn("sh")
	in.Paused = true
	r := f.create(t, in)
	if r.State != driverhub.RolloutPaused || r.WaveStartedAt != nil || r.Counts[driverhub.TargetWaiting] != 2 {
		t.Fatalf("created paused: %s, wave started %v, counts %v", r.State, r.WaveStartedAt, r.Counts)
	}
	must(ts.ResumeRollout(ts.admin, r.ID))(t)
	f.settle(t)
	if r = f.get(t, r.ID); r.Counts[driverhub.TargetPending] != 2 || r.Waves[0].State != driverhub.WaveRunning {
		t.Errorf("after resume: counts %v, wave 1 %s", r.Counts, r.Waves[0].State)
	}
}

func TestRolloutCancel(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	r := f.create(t, rolloutIn("sh", 50, 100))
	r = must(ts.CancelRollout(ts.admin, r.ID))(t)
	if r.State != driverhub.RolloutCancelled || r.FinishedAt == nil || !strings.Contains(r.Reason, "cancelled by admin") {
		t.Fatalf("cancelled: %s %v %q", r.State, r.FinishedAt, r.Reason)
	}
	// The deployments made go on and are tracked; no wave starts.
	f.answerWave(t, r.ID, 1, driverhub.DeploySucceeded)
	r = f.get(t, r.ID)
	if r.Counts[driverhub.TargetSucceeded] != 2 || r.Counts[driverhub.TargetWaiting] != 2 {
		t.Errorf("counts after the cancelled rollout's wave finished: %v", r.Counts)
	}
	if diff := cmp.Diff([]string{"stopped 2 2/0/0", "stopped 2 0/0/2"}, waveSummary(r)); diff != "" {
		t.Errorf("waves of a cancelled rollout (-want +got):\n%s", diff)
	}
	if n := len(f.deployments(t, "gw003")); n != 0 {
		t.Errorf("a cancelled rollout deployed wave 2")
	}
	wantErr(t, must2(ts.CancelRollout(ts.admin, r.ID)), driverhub.EConflict, "")
}

func TestUserDeploymentSupersedesARolloutTarget(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	r := f.create(t, rolloutIn("sh", 50, 100))
	user := ts.deploy(t, ts.admin, "gw000") // the user's own deployment, on a target of wave 1
	f.settle(t)
	targets := f.targets(t, r.ID, "")
	if targets[0].State != driverhub.TargetSuperseded || targets[0].Problems[0].Code != driverhub.ProblemDeploymentReplaced ||
		!strings.Contains(targets[0].Problems[0].Message, user.ID) {
		t.Fatalf("gw000 after a user's deployment: %s %+v", targets[0].State, targets[0].Problems)
	}
	if r = f.get(t, r.ID); r.Waves[0].Size != 1 {
		t.Errorf("wave 1's size with one target superseded: %d, want 1", r.Waves[0].Size)
	}
	// The user's deployment finishing changes nothing of the rollout; the
	// one target left decides the wave.
	f.answer(t, "gw000", driverhub.DeployFailed)
	f.answer(t, "gw001", driverhub.DeploySucceeded)
	r = f.get(t, r.ID)
	if r.Wave != 2 || r.State != driverhub.RolloutRunning || r.Counts[driverhub.TargetFailed] != 0 {
		t.Errorf("after the last target of wave 1 succeeded: wave %d, %s, counts %v; want wave 2 running", r.Wave, r.State, r.Counts)
	}
	// Closing a target's deployment is a user taking over as well.
	must(ts.CloseDeployment(ts.admin, "gw002", f.targets(t, r.ID, driverhub.TargetPending)[0].DeploymentID))(t)
	f.settle(t)
	if got := statesOf(f.targets(t, r.ID, "")); got["gw002"] != driverhub.TargetSuperseded {
		t.Errorf("gw002 after its deployment was closed: %s, want superseded", got["gw002"])
	}
}

func TestRolloutWaveTimeout(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	in := rolloutIn("sh")
	in.WaveTimeout, in.FailureThreshold = "30m", ptr(40)
	r := f.create(t, in)
	f.answer(t, "gw000", driverhub.DeploySucceeded)
	f.answer(t, "gw001", driverhub.DeploySucceeded)
	ts.clock.Advance(29 * time.Minute)
	ok(t, ts.SweepRollouts(ts.admin))
	if r = f.get(t, r.ID); r.State != driverhub.RolloutRunning {
		t.Fatalf("before the wave timeout: %s", r.State)
	}
	ts.clock.Advance(time.Minute)
	ok(t, ts.SweepRollouts(ts.admin))
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutAborted || !strings.Contains(r.Reason, "2 of 4 targets failed (50%)") {
		t.Errorf("at the wave timeout: %s (%q), want aborted with the 2 unfinished counted as failed", r.State, r.Reason)
	}
	failed := f.targets(t, r.ID, driverhub.TargetRolledBack)
	if len(failed) != 4 {
		t.Errorf("rolled back after the timeout: %d, want all 4 (the binding of each was changed)", len(failed))
	}
}

func TestRolloutTargetFailsAtTheDeployTimeout(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 2, "sh")
	in := rolloutIn("sh")
	in.OnAbort = driverhub.OnAbortStop
	r := f.create(t, in)
	ts.fetch(t, f.secrets["gw000"], "") // processing
	ts.clock.Advance(11 * time.Minute)
	n := must(ts.FailStaleDeployments(ts.admin, 10*time.Minute))(t)
	f.settle(t) // the kick from the timeout path alone decides
	r = f.get(t, r.ID)
	gw0 := f.targets(t, r.ID, driverhub.TargetFailed)
	if n != 1 || r.State != driverhub.RolloutAborted || len(gw0) != 1 || !strings.Contains(gw0[0].Problems[0].Message, "deploy timeout") {
		t.Errorf("after the deploy timeout: %d timed out, rollout %s, failed targets %+v", n, r.State, gw0)
	}
}

func must2[T any](_ T, err error) error { return err }

// The gateways of a wave parked in their long-polls on another replica
// (not handed their deployments by the batch: handoff.go) are woken with
// their new deployment once the wave is made, and fetching it makes it
// processing, as for any deployment.
func TestRolloutWakesParkedGatewaysWithTheirDeployment(t *testing.T) {
	t.Parallel()
	replicas := asReplicas()
	ts := newTestService(t, replicas)
	b := &testService{Service: ts.replica(t, replicas), store: ts.store, clock: ts.clock}
	f := newRolloutFleet(t, ts, 3, "sh")
	got := parkGateways(t, b, f)
	r := f.create(t, rolloutIn("sh"))
	if n := ts.ParkedPolls(); n != 0 {
		t.Fatalf("%d polls parked on the replica making the wave, want none", n)
	}
	for _, x := range f.targets(t, r.ID, "") {
		a := <-got[x.Instance]
		if a.err != nil || a.m == nil || a.m.DeploymentID != x.DeploymentID || len(a.m.Drivers) != 1 || a.m.Drivers[0].Version != "2" {
			t.Fatalf("%s's long-poll answered %+v, want deployment %s of meter 2", x.Instance, a, x.DeploymentID)
		}
		if d := ts.deployment(t, ts.admin, x.Instance, x.DeploymentID); d.Status != driverhub.DeployProcessing || d.StartedAt == nil {
			t.Errorf("%s's deployment is %s since %v after its fetch, want processing", x.Instance, d.Status, d.StartedAt)
		}
	}
}
