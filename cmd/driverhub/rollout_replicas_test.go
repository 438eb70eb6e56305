//go:build linux

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplicasDriveARolloutOnce runs a rollout on two replicas sharing
// PostgreSQL, half the fleet polling and reporting to each: both are
// kicked by the reports they receive, and both sweep, yet every wave
// starts and passes once and every gateway gets one deployment.
func TestReplicasDriveARolloutOnce(t *testing.T) {
	const n = 300
	database, blobs := sharedStorage(t)
	rs := startReplicas(t, 2, database, blobs)
	dir := t.TempDir()
	api := newRLAPI(rs[0].url)
	api.publishMeter(t)
	secrets, err := os.ReadFile(api.createFleet(t, n, 2, dir))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSpace(string(secrets)), "\n")
	var fleets []*rlFleet
	for k, r := range rs {
		file := filepath.Join(dir, "secrets-"+r.name)
		half := lines[k*n/2 : (k+1)*n/2]
		if err := os.WriteFile(file, []byte(strings.Join(half, "")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fleets = append(fleets, rlStartFleet(t, r.url, file, "", filepath.Join(dir, "loadgen-"+r.name+".stderr")))
	}
	for _, f := range fleets {
		f.awaitReady(t, time.Minute)
	}
	var ro rlRollout
	newRLAPI(rs[1].url).must(t, 201, "POST", "/api/v1/rollouts", rolloutBody([]int{10, 40, 70, 100}, 100, 0), &ro)
	done := api.awaitRollout(t, ro.ID, 3*time.Minute, "finished", func(r *rlRollout) bool { return r.State != "running" })
	if done.State != "succeeded" {
		t.Fatalf("rollout %s (%s)", done.State, done.Reason)
	}
	if done.eventCount("wave_started") != 4 || done.eventCount("wave_succeeded") != 4 || done.eventCount("succeeded") != 1 || len(done.Events) != 10 {
		t.Errorf("events: %+v", done.Events)
	}
	for k := range n {
		if ids := api.deploymentIDs(t, rlName(k)); len(ids) != 1 {
			t.Errorf("%s has %d deployments, want 1", rlName(k), len(ids))
		}
	}
	steps := 0
	for _, r := range rs {
		steps += strings.Count(r.logs.String(), `msg="rollout step"`)
	}
	if steps != 4 {
		t.Errorf("the replicas logged %d rollout steps in all, want 4 (one per wave)", steps)
	}
	noErrors(t, rs...)
}
