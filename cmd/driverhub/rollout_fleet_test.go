//go:build linux

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Rollouts to fleets of simulated gateways: `driverhub server` as a child
// process, and the long-poll load generator, reporting, as the fleet.

// rlFleetSize is the fleet of the rollout tests (SPEC §10 asks for 1,000).
const rlFleetSize = 1000

func TestRolloutToAFleetSucceeds(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet of 1,000 gateways; -short skips it")
	}
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	api := newRLAPI(s.url)
	api.publishMeter(t)
	secrets := api.createFleet(t, rlFleetSize, 8, dir)
	lg := rlStartFleet(t, s.url, secrets, "", filepath.Join(dir, "loadgen.stderr"))
	lg.awaitReady(t, 5*time.Minute)

	var r rlRollout
	api.must(t, 201, "POST", "/api/v1/rollouts", rolloutBody([]int{1, 10, 50, 100}, 95, 5), &r)
	done := api.awaitRollout(t, r.ID, 5*time.Minute, "succeeded", func(r *rlRollout) bool { return r.State != "running" })
	if done.State != "succeeded" {
		t.Fatalf("rollout %s (%s), want succeeded:\n%s", done.State, done.Reason, lg.stderr())
	}
	var sizes []int
	for _, w := range done.Waves {
		sizes = append(sizes, w.Size)
	}
	if fmt.Sprint(sizes) != "[10 90 400 500]" {
		t.Errorf("wave sizes %v, want [10 90 400 500] (ceil of 1, 10, 50, 100%% of 1,000, each its own)", sizes)
	}
	if done.eventCount("wave_started") != 4 || done.eventCount("wave_succeeded") != 4 {
		t.Errorf("events: %+v", done.Events)
	}
	// Wait for the last wave's stragglers (it passed at 95%), then count:
	// every gateway received exactly one deployment, and reported it.
	done = api.awaitRollout(t, r.ID, time.Minute, "all succeeded", func(r *rlRollout) bool { return r.Counts["succeeded"] == rlFleetSize })
	received := map[string]int{}
	for _, e := range lg.awaitReported(t, rlFleetSize, time.Minute) {
		if e.kind == 'D' && e.id != "" {
			received[e.name]++
		}
	}
	for k := range rlFleetSize {
		if n := received[rlName(k)]; n != 1 {
			t.Errorf("%s received %d deployments, want 1", rlName(k), n)
		}
	}
	for _, k := range []int{0, 9, 10, 499, 999} {
		if v, ids := api.boundVersion(t, rlName(k)), api.deploymentIDs(t, rlName(k)); v != "2.0.0" || len(ids) != 1 {
			t.Errorf("%s: bound to %s with %d deployments, want 2.0.0 with one", rlName(k), v, len(ids))
		}
	}
	s.kill() // its log is read whole once it stopped writing
	if strings.Contains(s.logs.String(), "level=ERROR") {
		t.Errorf("the server logged errors:\n%s", lpTail(s.logs.String(), 3000))
	}
}

func TestRolloutToAFleetAbortsAndRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet of 1,000 gateways; -short skips it")
	}
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	api := newRLAPI(s.url)
	api.publishMeter(t)
	secrets := api.createFleet(t, rlFleetSize, 8, dir)
	// Every fifth gateway fails version 2.0.0: 20% of every wave.
	var failing []string
	for k := 0; k < rlFleetSize; k += 5 {
		failing = append(failing, rlName(k))
	}
	failFile := filepath.Join(dir, "failing")
	if err := os.WriteFile(failFile, []byte(strings.Join(failing, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	lg := rlStartFleet(t, s.url, secrets, "2.0.0 "+failFile, filepath.Join(dir, "loadgen.stderr"))
	lg.awaitReady(t, 5*time.Minute)

	var r rlRollout
	api.must(t, 201, "POST", "/api/v1/rollouts", rolloutBody([]int{5, 20, 50, 100}, 90, 10), &r)
	done := api.awaitRollout(t, r.ID, 5*time.Minute, "rolled back", func(r *rlRollout) bool {
		return r.State != "running" && r.eventCount("rolled_back") == 1
	})
	if done.State != "aborted" || done.Wave != 1 || !strings.Contains(done.Reason, "wave 1:") || !strings.Contains(done.Reason, "above the failure threshold of 10%") {
		t.Fatalf("rollout %s in wave %d (%q), want aborted in wave 1 above the failure threshold", done.State, done.Wave, done.Reason)
	}
	// Wave 1 is the first 50 targets: each changed binding is back at
	// 1.0.0 with a new deployment; no other instance was touched.
	targets := api.targets(t, r.ID)
	rolledBack := 0
	for k, x := range targets {
		switch {
		case k < 50 && x.State == "rolled_back":
			rolledBack++
			ids := api.deploymentIDs(t, x.Instance)
			if len(ids) != 2 || ids[0] != x.RollbackDeploymentID || ids[1] != x.DeploymentID {
				t.Errorf("%s: deployments %v, want its rollback %s then the rollout's %s", x.Instance, ids, x.RollbackDeploymentID, x.DeploymentID)
			}
			if v := api.boundVersion(t, x.Instance); v != "1.0.0" {
				t.Errorf("%s bound to %s after the rollback, want 1.0.0", x.Instance, v)
			}
		case k < 50:
			t.Errorf("%s of wave 1 is %s after the rollback", x.Instance, x.State)
		case x.State != "waiting" || x.DeploymentID != "":
			t.Errorf("%s of a later wave is %s (deployment %q), want waiting, untouched", x.Instance, x.State, x.DeploymentID)
		}
	}
	if rolledBack != 50 || done.Counts["waiting"] != 950 {
		t.Errorf("%d rolled back, %d waiting; want 50 and 950", rolledBack, done.Counts["waiting"])
	}
	for _, k := range []int{50, 500, 999} {
		if ids := api.deploymentIDs(t, rlName(k)); len(ids) != 0 {
			t.Errorf("%s has %d deployments, want none", rlName(k), len(ids))
		}
	}
	// The gateways got their rollback and reported it.
	lastOK := api.awaitRolloutReported(t, lg, targets[:50])
	t.Logf("aborted: %s; all 50 gateways of wave 1 reported their rollback deployment succeeded (%s after the rollback event was read)", done.Reason, lastOK)
}

// awaitRolloutReported waits until every target's gateway reported its
// rollback deployment succeeded, and returns how long after the abort.
func (a *rlAPI) awaitRolloutReported(t testing.TB, lg *rlFleet, targets []rlTarget) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok := map[string]bool{}
		for _, e := range lg.snapshot() {
			if e.kind == 'R' && e.status == "succeeded" {
				ok[e.id] = true
			}
		}
		missing := 0
		for _, x := range targets {
			if !ok[x.RollbackDeploymentID] {
				missing++
			}
		}
		if missing == 0 {
			return time.Since(start).Round(time.Millisecond)
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("%d gateways did not report their rollback deployment:\n%s", missing, lg.stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
