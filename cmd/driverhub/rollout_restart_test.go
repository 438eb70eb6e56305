//go:build linux

package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRolloutSurvivesAServerKill kills the server (SIGKILL) while a
// rollout's second wave is under way and starts it again on the same
// data directory: the rollout goes on where it was and succeeds, every
// gateway deployed once, every wave started once.
func TestRolloutSurvivesAServerKill(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	data, addr := filepath.Join(dir, "data"), freeAddr(t)
	s := startServerAt(t, data, addr)
	api := newRLAPI(s.url)
	api.publishMeter(t)
	secrets := api.createFleet(t, n, 8, dir)
	// Each gateway takes a second to apply a deployment, so that the kill
	// lands while wave 2's gateways are at work.
	lg := rlStartFleet(t, s.url, secrets, "", filepath.Join(dir, "loadgen.stderr"), rlDelayEnv+"=1s")
	lg.awaitReady(t, time.Minute)

	var r rlRollout
	api.must(t, 201, "POST", "/api/v1/rollouts", rolloutBody([]int{10, 50, 100}, 100, 0), &r)
	api.awaitRollout(t, r.ID, time.Minute, "in wave 2", func(r *rlRollout) bool { return r.Wave == 2 })
	s.kill()
	before := s.logs.String()
	time.Sleep(1500 * time.Millisecond) // reports of wave 2 fail meanwhile, and are sent again
	s = startServerAt(t, data, addr)

	done := api.awaitRollout(t, r.ID, 2*time.Minute, "finished", func(r *rlRollout) bool { return r.State != "running" })
	if done.State != "succeeded" {
		s.kill() // its log is read whole once it stopped writing
		t.Fatalf("after the restart: %s (%s)\nbefore the kill:\n%s\nafter:\n%s", done.State, done.Reason, lpTail(before, 3000), lpTail(s.logs.String(), 3000))
	}
	if done.eventCount("wave_started") != 3 || done.eventCount("wave_succeeded") != 3 || done.eventCount("succeeded") != 1 {
		t.Errorf("events after the restart: %+v", done.Events)
	}
	for k := range n {
		if ids := api.deploymentIDs(t, rlName(k)); len(ids) != 1 {
			t.Errorf("%s has %d deployments, want 1", rlName(k), len(ids))
		}
	}
	s.kill()
	if strings.Contains(s.logs.String(), "level=ERROR") {
		t.Errorf("the restarted server logged errors:\n%s", lpTail(s.logs.String(), 3000))
	}
}
