package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The signed-driver tests (SPEC §11): a real server, the real CLI holding
// the tenant's offline keys, a real agent pinned to the tenant's root, and
// an attacker in the middle who also holds the server: whatever it serves,
// the agent runs only what the tenant signed, and what runs keeps running.

// TestTUFAttackerInTheMiddle: swapped bytes, a revoked version, replayed
// metadata and a frozen timestamp are each refused at verify.
func TestTUFAttackerInTheMiddle(t *testing.T) {
	meter := driverName("signed")
	t.Parallel()
	te := newTUFE2E(t)
	te.createDriver(meter, "python3")
	te.push(te.cli, meter, "1.0", true)
	te.bind(meter, "1.0")
	d := te.deploy("deploy")
	mustSucceed(t, d)
	if !deploymentSays(d, meter, "signed target default/"+meter+"/1.0") {
		t.Errorf("the deployment's log does not name the signed target: %+v", d.Resources)
	}
	pid1 := te.running(meter, "1.0")
	before := te.mitm.recorded() // metadata in which 1.0 is signed, not revoked

	// (a) Other bytes, with their own digest, under signed 2.0.
	te.push(te.cli, meter, "2.0", true)
	te.bind(meter, "2.0")
	te.mitm.swapPackage(meter, samplePackage(t, "python3", "6.6.6"))
	te.refused(meter, "hash_mismatch", pid1, "1.0")
	te.mitm.disarm()

	// 2.0 itself is signed and installs; then 1.0 is revoked.
	mustSucceed(t, te.deploy("deploy"))
	pid2 := te.running(meter, "2.0")
	te.cli.ok("unsign", meter, "1.0", "--keys", te.keys)

	// (b) The deployment pointed back at revoked 1.0.
	te.mitm.pointAt(meter, "1.0")
	te.refused(meter, "revoked", pid2, "2.0")
	te.mitm.disarm()

	// (c) The timestamp, snapshot and targets of when 1.0 was not revoked,
	// replayed to an agent killed and started again since it saw newer ones.
	te.agent.kill(t)
	te.agent = te.startAgent()
	pid2 = waitReport(t, te.reportPath(meter), "2.0 runs again", func(r report) bool {
		return r["version"] == "2.0" && r["pid"] != strconv.Itoa(pid2)
	}).pid(t)
	te.mitm.pointAt(meter, "1.0")
	for file, b := range before {
		te.mitm.serveTUF(file, b)
	}
	te.refused(meter, "rollback_detected", pid2, "2.0")
	te.mitm.disarm()
	// The old snapshot's bytes in place of the newest, which names a newly
	// signed version.
	te.push(te.cli, meter, "2.1", true)
	_, current := te.cli.srv.do(t, "GET", "/api/v1/tuf/timestamp.json", nil)
	old := fmt.Sprintf("%d.snapshot.json", metaVersion(t, before["timestamp.json"], "snapshot.json"))
	te.mitm.serveTUF(fmt.Sprintf("%d.snapshot.json", metaVersion(t, current, "snapshot.json")), before[old])
	te.bind(meter, "2.1")
	te.refused(meter, "rollback_detected", pid2, "2.0")
	te.mitm.disarm()

	// (d) The timestamp frozen past its expiry: the server re-signs it
	// every 5 s, the attacker hides the new ones (and 3.0 with them).
	te.push(te.cli, meter, "3.0", true)
	te.bind(meter, "3.0")
	expires := te.mitm.freezeTimestamp()
	for time.Now().Before(expires.Add(time.Second)) {
		time.Sleep(200 * time.Millisecond)
	}
	te.refused(meter, "trust_metadata_expired", pid2, "2.0")
	te.mitm.disarm()
	mustSucceed(t, te.deploy("deploy"))
	te.running(meter, "3.0")
}

// deploymentSays reports whether the driver's log in d holds want.
func deploymentSays(d deployment, driver, want string) bool {
	for _, r := range d.Resources {
		for _, l := range r.Log {
			if r.Type == "driver" && r.Name == driver && strings.Contains(l.Message, want) {
				return true
			}
		}
	}
	return false
}

// TestTUFKeyRotation: the root key and the targets key are replaced; the
// agent, pinned to root version 1, walks to the new root and installs what
// the new targets key signs, and the old targets key signs nothing more.
func TestTUFKeyRotation(t *testing.T) {
	meter := driverName("rotated")
	t.Parallel()
	te := newTUFE2E(t)
	te.createDriver(meter, "python3")
	te.push(te.cli, meter, "1.0", true)
	te.bind(meter, "1.0")
	mustSucceed(t, te.deploy("deploy"))
	pid := te.running(meter, "1.0")

	oldKeys := filepath.Join(t.TempDir(), "old-keys")
	if out, err := exec.Command("cp", "-a", te.keys, oldKeys).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	te.cli.ok("trust", "rotate", "--role", "root", "--keys", te.keys)    // root 2, signed by the old root key and the new
	te.cli.ok("trust", "rotate", "--role", "targets", "--keys", te.keys) // root 3: another targets key

	te.push(te.cli, meter, "2.0", false)
	if r := te.cli.run("sign", meter, "2.0", "--keys", oldKeys); r.code == 0 {
		t.Errorf("sign with the replaced targets key succeeded: %s", r.stdout)
	}
	te.bind(meter, "2.0")
	te.refused(meter, "not_signed", pid, "1.0")
	te.cli.ok("sign", meter, "2.0", "--keys", te.keys)
	mustSucceed(t, te.deploy("deploy"))
	te.running(meter, "2.0")

	var root struct {
		Signed struct {
			Version int `json:"version"`
		} `json:"signed"`
	}
	readJSONFile(t, filepath.Join(te.agentDir, "trust", "root.json"), &root)
	if root.Signed.Version != 3 {
		t.Errorf("the agent trusts root version %d, want 3", root.Signed.Version)
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTUFMarketplaceDriver: a driver acquired from another tenant's listing
// runs on a pinned gateway once the tenant signs it, under its publisher's
// name, with its own keys.
func TestTUFMarketplaceDriver(t *testing.T) {
	meter := driverName("market")
	t.Parallel()
	te := newTUFE2E(t)
	var tenant struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(te.cli.ok("tenant", "create", "acme", "-o", "json")), &tenant); err != nil {
		t.Fatal(err)
	}
	acme := te.cli.with("DRIVERHUB_TOKEN=" + tenant.Token)
	acme.ok("driver", "create", meter, "--protocol", "modbus", "--runtime", "python3")
	te.push(acme, meter, "1.0", false)
	acme.ok("listing", "set", meter, "--title", "Power meter")
	te.cli.ok("market", "acquire", "acme", meter)
	te.api("PUT", te.bindingPath(meter), map[string]any{"version": "1.0", "publisher": "acme"}, 200, nil)

	// Not signed by this tenant: refused, whatever acme did.
	d := te.deploy("deploy")
	if d.Status != "failed" || !strings.Contains(d.Reason, "not_signed: ") {
		t.Errorf("deployment of the unsigned acquired driver: %s (%s), want failed with not_signed", d.Status, d.Reason)
	}
	te.cli.ok("sign", meter, "1.0", "--publisher", "acme", "--keys", te.keys)
	d = te.deploy("deploy")
	mustSucceed(t, d)
	if !deploymentSays(d, meter, "signed target acme/"+meter+"/1.0") {
		t.Errorf("the deployment's log does not name the signed target acme/%s/1.0: %+v", meter, d.Resources)
	}
	te.running(meter, "1.0")
}

// TestTUFAgentRefusesBadRoot: an agent pinned to a file that is not a TUF
// root does not start, and says which flag is wrong and why.
func TestTUFAgentRefusesBadRoot(t *testing.T) {
	t.Parallel()
	agentDir := t.TempDir()
	prepareDriverUsers(t, agentDir)
	bad := filepath.Join(t.TempDir(), "root.json")
	writeFile(t, bad, []byte(`{"signed":{"_type":"timestamp"},"signatures":[]}`))
	cmd := exec.Command(binary, "agent", "--server", "http://127.0.0.1:9", "--dir", agentDir, "--trust-root", bad)
	cmd.Env = append(os.Environ(), "DRIVERHUB_GATEWAY_SECRET=dhg_unused")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--trust-root: "+bad+" is not a TUF root") {
		t.Errorf("agent pinned to a timestamp: %v\n%s\nwant a refusal naming --trust-root", err, out)
	}
}
