//go:build linux

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIRollouts drives driverhub rollout against a server and a fleet of
// simulated gateways (the reporting load generator): create with --wait to
// success and to an abort, list, get by ID and by name, targets with their
// reasons, pause/resume/cancel, and the output formats.
func TestCLIRollouts(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	api := newRLAPI(c.srv.url)
	api.publishMeter(t)
	dir := t.TempDir()
	secrets := api.createFleet(t, 4, 2, dir) // gw-00000…gw-00003, site=sh, meter 1.0.0
	failing := filepath.Join(dir, "failing")
	if err := os.WriteFile(failing, []byte(rlName(3)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lg := rlStartFleet(t, c.srv.url, secrets, "2.0.0 "+failing, filepath.Join(dir, "loadgen.stderr"))
	lg.awaitReady(t, time.Minute)
	// A gateway that never answers: its deployments stay pending.
	api.must(t, 201, "POST", "/api/v1/instances", map[string]any{"name": "quiet"}, nil)
	api.must(t, 200, "PUT", "/api/v1/instances/quiet/drivers/meter", map[string]any{"version": "1.0.0"}, nil)

	// Mistakes in the call are usage errors; bad fields, the server's.
	r := c.fails(2, "rollout", "create", "x", "--driver", "meter", "--version", "2.0.0")
	mustContain(t, "no selector", r.stderr, "--tag KEY=VALUE, --all-instances or --instance NAME")
	c.fails(2, "rollout", "create", "x", "--driver", "meter", "--version", "2.0.0", "--tag", "site=sh", "--instance", "quiet")
	r = c.fails(1, "rollout", "create", "x", "--driver", "meter", "--version", "2.0.0", "--tag", "site=sh", "--waves", "50,10,100", "--failure-threshold", "101")
	mustContain(t, "bad fields", r.stderr, "waves[1]", "failure_threshold")

	// Wave 1 is gw-00000, wave 2 gw-00001: both succeed.
	r = c.run("rollout", "create", "meter 2 ok", "--driver", "meter", "--version", "2.0.0",
		"--instance", rlName(0)+","+rlName(1), "--waves", "50,100", "--wait")
	if r.code != 0 {
		t.Fatalf("create --wait: exit %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, lg.stderr())
	}
	mustContain(t, "create --wait", r.stdout, "wave_started", "wave_succeeded", "[##############################] 2/2 succeeded, 0 failed · wave 2/2 · succeeded")
	if strings.Contains(r.stdout, "\r") {
		t.Error("progress redrawn in place on a pipe")
	}
	okID := rolloutID(t, c, "meter 2 ok")
	c.sameJSON("/api/v1/rollouts", "rollout", "list")
	c.sameJSON("/api/v1/rollouts/"+okID, "rollout", "get", okID)
	if row := cliRow(c.ok("rollout", "list"), okID); len(row) < 2 || !strings.Contains(strings.Join(row, " "), "succeeded 2/2 2/2 0") {
		t.Errorf("rollout list row: %q", row)
	}
	out := c.ok("rollout", "get", "meter 2 ok") // by name
	mustContain(t, "rollout get", out, okID, "succeeded", "WAVE", "50%", "100%", "wave 2 of 2 started")
	if y := c.ok("rollout", "get", okID, "-o", "yaml"); !strings.Contains(y, "id: "+okID) || !strings.Contains(y, "wave_timeout: 1h") {
		t.Errorf("rollout get -o yaml:\n%s", y)
	}

	// gw-00003 fails 2.0.0: wave 2 fails, the rollout aborts and stops.
	r = c.run("rollout", "create", "meter 2 bad", "--driver", "meter", "--version", "2.0.0", "--instance", rlName(2)+","+rlName(3),
		"--waves", "50,100", "--on-abort", "stop", "--wait", "-o", "json")
	if r.code != 1 {
		t.Fatalf("create --wait of a failing rollout: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "aborted --wait", r.stderr, "aborted", "wave_started")
	var final struct{ ID, State string }
	if err := json.Unmarshal([]byte(r.stdout), &final); err != nil || final.State != "aborted" {
		t.Fatalf("create --wait -o json: %v %s", err, r.stdout)
	}
	out = c.ok("rollout", "get", final.ID)
	mustContain(t, "aborted rollout", out, "aborted", "INSTANCE", rlName(3), "deployment_failed")
	out = c.ok("rollout", "targets", final.ID, "--state", "failed")
	if row := cliRow(out, rlName(3)); len(row) < 3 || row[2] != "failed" || cliRow(out, rlName(2)) != nil {
		t.Errorf("rollout targets --state failed:\n%s", out)
	}
	c.sameJSON("/api/v1/rollouts/"+final.ID+"/targets?state=failed", "rollout", "targets", final.ID, "--state", "failed")

	// Pause, resume and cancel one that stays pending.
	out = c.ok("rollout", "create", "to quiet", "--driver", "meter", "--version", "2.0.0", "--instance", "quiet")
	quietID := rolloutID(t, c, "to quiet")
	for _, step := range []struct{ action, state string }{{"pause", "paused"}, {"resume", "running"}, {"cancel", "cancelled"}} {
		out = c.ok("rollout", step.action, quietID)
		if row := cliRow(out, "State:"); len(row) < 2 || row[1] != step.state {
			t.Errorf("rollout %s: %q\n%s", step.action, row, out)
		}
	}
	r = c.fails(1, "rollout", "resume", "to quiet")
	mustContain(t, "resume a cancelled rollout", r.stderr, "only a paused rollout can be resumed")
	c.fails(1, "rollout", "get", "no such rollout")
}

// rolloutID is the ID of the newest rollout of a name, as list -o json has it.
func rolloutID(t *testing.T, c *cliEnv, name string) string {
	t.Helper()
	var l struct {
		Items []struct{ ID, Name string }
	}
	if err := json.Unmarshal([]byte(c.ok("rollout", "list", "-o", "json")), &l); err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if it.Name == name {
			return it.ID
		}
	}
	t.Fatalf("no rollout %q in %+v", name, l.Items)
	return ""
}
