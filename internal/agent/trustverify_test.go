package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
)

// acmeDriver is a driver of publisher acme, whose target name is
// acme/<name>/<version>.
func acmeDriver(name, version string, pkg *driverhub.BlobLink) driverhub.ManifestDriver {
	md := driverOf(name, version, pkg)
	md.Publisher = "acme"
	return md
}

// signedAgent is a gateway pinned with a tenant's root, running
// acme/meter 1.0.0, which the tenant signed.
func signedAgent(t *testing.T) (*tufRepo, *testAgent, driverhub.ManifestDriver) {
	t.Helper()
	r := newTUFRepo(t)
	gw := newTestGateway(t)
	ta := newPinnedAgent(t, r, gw, newFakeRuntime(), "", r.rootFile(t))
	v1 := acmeDriver("meter", "1.0.0", gw.pkg(t, "up"))
	r.sign("acme/meter/1.0.0", v1.Package)
	ta.deploy("d1", v1)
	checkDeployment(t, gw, "d1", driverhub.DeploySucceeded, "",
		succeeded("meter", "SHA-256 verified: "+v1.Package.SHA256+"; signed target acme/meter/1.0.0 (targets version 2)")...)
	return r, ta, v1
}

// deployRefused deploys md, which the agent must refuse: the meter fails
// at verify with a message starting with reason, and the version that ran
// before runs on, the same process, never stopped.
func (ta *testAgent) deployRefused(t *testing.T, id string, reason signatureReason, md driverhub.ManifestDriver) {
	t.Helper()
	running, before := ta.rt.proc("meter"), ta.state.Drivers["meter"]
	ta.deploy(id, md)
	checkDeployment(t, ta.gw, id, driverhub.DeployFailed, "meter: "+string(reason)+": ",
		failed("meter", driverhub.StageVerify, string(reason)+": ")...)
	if p := ta.rt.proc("meter"); running == nil || p != running || p.ended() || p.wasStopped() {
		t.Errorf("%s: the meter's process changed or stopped: the running driver must stay untouched", id)
	}
	if inst := ta.state.Drivers["meter"]; inst == nil || inst.Manifest.Version != before.Manifest.Version || inst.Dir != before.Dir {
		t.Errorf("%s: the agent's state holds %+v, want meter %s as before", id, inst, before.Manifest.Version)
	}
}

// cached reports whether the agent's download cache holds the blob.
func cached(ta *testAgent, link *driverhub.BlobLink) bool {
	_, err := os.Stat(filepath.Join(ta.cfg.Dir, "cache", link.SHA256))
	return err == nil
}

func TestSignedTargetInstalls(t *testing.T) {
	r, ta, _ := signedAgent(t)
	// One refresh for the first apply: a look for the next root, then
	// timestamp, snapshot and targets.
	if got, want := r.asked(), []string{"2.root.json", "timestamp.json", "2.snapshot.json", "2.targets.json"}; !slices.Equal(got, want) {
		t.Errorf("first apply fetched %q, want %q", got, want)
	}
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	valve := acmeDriver("valve", "1.0.0", ta.gw.pkg(t, "up", "valve.txt", "v"))
	r.sign("acme/meter/2.0.0", v2.Package)
	r.sign("acme/valve/1.0.0", valve.Package)
	ta.deploy("d2", v2, valve)
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "",
		append(succeeded("meter", "signed target acme/meter/2.0.0 (targets version 4)"), succeeded("valve", "signed target acme/valve/1.0.0")...)...)
	// Two packaged drivers, one refresh; snapshot and targets only because
	// the timestamp names new ones.
	if got, want := r.asked(), []string{"2.root.json", "timestamp.json", "4.snapshot.json", "4.targets.json"}; !slices.Equal(got, want) {
		t.Errorf("second apply fetched %q, want %q", got, want)
	}
	ta.deploy("d3", v2, valve)
	if got, want := r.asked(), []string{"2.root.json", "timestamp.json"}; !slices.Equal(got, want) {
		t.Errorf("an apply with nothing newly signed fetched %q, want %q", got, want)
	}
	info, err := os.Stat(filepath.Join(ta.cfg.Dir, "trust"))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("trust directory: %v, %v; want mode 0700", info, err)
	}
}

func TestUnsignedPackageRefused(t *testing.T) {
	_, ta, _ := signedAgent(t)
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	ta.deployRefused(t, "d2", reasonNotSigned, v2)
	if cached(ta, v2.Package) {
		t.Error("the unsigned package was downloaded: it must be refused before")
	}
}

func TestSwappedPackageRefused(t *testing.T) {
	r, ta, _ := signedAgent(t)
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	r.sign("acme/meter/2.0.0", v2.Package)
	// The server names other bytes, with their own digest, under the signed name.
	evil := ta.gw.pkg(t, "up", "evil.txt", "x")
	swapped := v2
	swapped.Package = evil
	ta.deployRefused(t, "d2", reasonHashMismatch, swapped)
	if cached(ta, evil) {
		t.Error("the swapped package was downloaded: it must be refused before")
	}
	// The same package with a wrong length only is refused too.
	wrongSize := v2
	wrongSize.Package = &driverhub.BlobLink{SHA256: v2.Package.SHA256, Size: v2.Package.Size + 1, URL: v2.Package.URL}
	ta.deployRefused(t, "d3", reasonHashMismatch, wrongSize)
	// The signed bytes, run another way than they were signed for.
	asNode := v2
	asNode.Runtime = driverhub.RuntimeNodeJS
	ta.deployRefused(t, "d4", reasonHashMismatch, asNode)
	if _, reason, _ := ta.gw.deployment("d4"); !strings.Contains(reason, "signed as python3") {
		t.Errorf("d4 failed with %q, want the signed runtime named", reason)
	}
}

func TestRevokedVersionRefused(t *testing.T) {
	r, ta, _ := signedAgent(t)
	v0 := acmeDriver("meter", "0.9.0", ta.gw.pkg(t, "up", "old.txt", "0"))
	r.sign("acme/meter/0.9.0", v0.Package)
	r.unsign("acme/meter/0.9.0")
	ta.deployRefused(t, "d2", reasonRevoked, v0)
}

func TestFrozenTimestampRefused(t *testing.T) {
	r, ta, _ := signedAgent(t)
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	r.sign("acme/meter/2.0.0", v2.Package)
	// A day passes; the server keeps serving the same timestamp.
	ta.trust.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	ta.deployRefused(t, "d2", reasonExpired, v2)
	// A timestamp signed again makes the same package installable.
	r.publishTimestamp(time.Now().Add(48 * time.Hour))
	ta.deploy("d3", v2)
	checkDeployment(t, ta.gw, "d3", driverhub.DeploySucceeded, "", succeeded("meter", "signed target acme/meter/2.0.0")...)
}

func TestRolledBackMetadataRefused(t *testing.T) {
	r, ta, v1 := signedAgent(t)
	old := r.file("timestamp.json") // names snapshot 2, which names targets 2
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	r.sign("acme/meter/2.0.0", v2.Package)
	ta.deploy("d2", v2)
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "", succeeded("meter", "meter 2.0.0 is running")...)

	// The server replays the timestamp of before 2.0.0 was signed, to
	// bring back 1.0.0.
	current := r.file("timestamp.json")
	r.serve("timestamp.json", old)
	ta.deployRefused(t, "d3", reasonRollback, v1)
	r.serve("timestamp.json", current)

	// With the online keys, it signs a new timestamp naming the old snapshot ...
	r.mu.Lock()
	r.timestamp.Signed.Meta["snapshot.json"] = metaFile(2, r.files["2.snapshot.json"])
	r.mu.Unlock()
	r.publishTimestamp(time.Now().Add(24 * time.Hour))
	ta.deployRefused(t, "d4", reasonRollback, v1)

	// ... or a new snapshot naming the old targets.
	r.mu.Lock()
	r.snapshot.Signed.Meta["targets.json"] = metaFile(2, r.files["2.targets.json"])
	r.mu.Unlock()
	r.publishSnapshot()
	ta.deployRefused(t, "d5", reasonRollback, v1)

	// Newly signed targets, but the old snapshot's bytes served in place
	// of the one the timestamp names.
	r.sign("acme/meter/2.1.0", v2.Package)
	r.serve(fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version), r.file("2.snapshot.json"))
	ta.deployRefused(t, "d5b", reasonRollback, v1)
	if _, reason, _ := ta.gw.deployment("d5b"); !strings.Contains(reason, "snapshot") {
		t.Errorf("d5b failed with %q, want the snapshot named", reason)
	}

	// An agent restarted from the same directory refuses them still.
	ta.stopAll()
	ta2 := newPinnedAgent(t, r, ta.gw, ta.rt, ta.cfg.Dir, r.rootFile(t))
	started := make(chan *fakeProc, 1)
	ta.rt.mu.Lock()
	ta.rt.started = started
	ta.rt.mu.Unlock()
	if err := ta2.resume(); err != nil {
		t.Fatal(err)
	}
	<-started // the restarted agent runs meter 2.0.0 again
	r.serve("timestamp.json", old)
	ta2.deployRefused(t, "d6", reasonRollback, v1)
}

func TestRootRotation(t *testing.T) {
	r, ta, _ := signedAgent(t)
	r.asked()
	stale := r.keys[metadata.TARGETS]
	r.rotate(metadata.TARGETS) // root 2: a new targets key, signed by the root key
	r.rotate(metadata.ROOT)    // root 3: a new root key, signed by the old one and the new
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	r.sign("acme/meter/2.0.0", v2.Package) // signed with the new targets key
	ta.deploy("d2", v2)
	checkDeployment(t, ta.gw, "d2", driverhub.DeploySucceeded, "", succeeded("meter", "signed target acme/meter/2.0.0")...)
	if got := r.asked(); !slices.Equal(got[:3], []string{"2.root.json", "3.root.json", "4.root.json"}) {
		t.Errorf("the agent fetched %q, want root versions 2, 3 and 4 walked in order", got)
	}
	trusted, err := metadata.Root().FromFile(filepath.Join(ta.cfg.Dir, "trust", "root.json"))
	if err != nil || trusted.Signed.Version != 3 {
		t.Errorf("the agent keeps root %+v (%v), want version 3", trusted, err)
	}

	// Targets signed with the revoked targets key no longer count.
	v3 := acmeDriver("meter", "3.0.0", ta.gw.pkg(t, "up", "v3.txt", "3"))
	r.keys[metadata.TARGETS] = stale
	r.sign("acme/meter/3.0.0", v3.Package)
	ta.deploy("d3", v3)
	checkDeployment(t, ta.gw, "d3", driverhub.DeployFailed, "meter: not_signed: the signed metadata does not verify",
		failed("meter", driverhub.StageVerify, "not_signed: ")...)
	if inst := ta.state.Drivers["meter"]; inst.Manifest.Version != "2.0.0" || ta.rt.proc("meter").ended() {
		t.Errorf("meter %s must run on after refusing 3.0.0", inst.Manifest.Version)
	}
}

func TestForgedRootRefused(t *testing.T) {
	r, ta, _ := signedAgent(t)
	// The server makes a root 2 of its own, with keys of its own.
	forged := newTUFRepo(t)
	forged.root.Signed.Version = 2
	forged.signRoot(forged.keys[metadata.ROOT])
	r.serve("2.root.json", forged.file("2.root.json"))
	v2 := acmeDriver("meter", "2.0.0", ta.gw.pkg(t, "up", "v2.txt", "2"))
	r.sign("acme/meter/2.0.0", v2.Package)
	ta.deployRefused(t, "d2", reasonNotSigned, v2)
}

func TestRefreshFailureFailsEveryPackagedDriver(t *testing.T) {
	r := newTUFRepo(t)
	gw := newTestGateway(t)
	ta := newPinnedAgent(t, r, gw, newFakeRuntime(), "", r.rootFile(t))
	for name := range r.files {
		delete(r.files, name) // a server whose tenant never ran trust init
	}
	meter := acmeDriver("meter", "1.0.0", gw.pkg(t, "up"))
	valve := acmeDriver("valve", "1.0.0", gw.pkg(t, "up", "valve.txt", "v"))
	ta.deploy("d1", meter, valve)
	checkDeployment(t, gw, "d1", driverhub.DeployFailed, "meter: not_signed: the server has no signed metadata",
		append(failed("meter", driverhub.StageVerify, "not_signed: "), failed("valve", driverhub.StageVerify, "not_signed: ")...)...)
	if got := r.asked(); !slices.Equal(got, []string{"2.root.json", "timestamp.json"}) {
		t.Errorf("the deployment fetched %q, want one refresh", got)
	}
}

func TestBuiltinDriverNeedsNoSignature(t *testing.T) {
	r := newTUFRepo(t)
	gw := newTestGateway(t)
	ta := newPinnedAgent(t, r, gw, newFakeRuntime(), "", r.rootFile(t))
	if err := os.MkdirAll(filepath.Join(ta.cfg.Dir, "builtin", "modbus"), 0o755); err != nil {
		t.Fatal(err)
	}
	md := acmeDriver("modbus", "1.0.0", nil)
	md.Builtin = true
	ta.deploy("d1", md)
	checkDeployment(t, gw, "d1", driverhub.DeploySucceeded, "", succeeded("modbus")...)
	if got := r.asked(); len(got) != 0 {
		t.Errorf("a deployment without packages fetched %q, want no refresh", got)
	}
}

func TestPinnedRoot(t *testing.T) {
	r := newTUFRepo(t)
	gw := newTestGateway(t)
	dir := t.TempDir()
	newPinnedAgent(t, r, gw, newFakeRuntime(), dir, r.rootFile(t))

	notRoot := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(notRoot, r.file("timestamp.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Server: gw.srv.URL, Secret: "test-secret", Dir: t.TempDir(), Runtime: newFakeRuntime()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PinTrustRoot(notRoot); err == nil || !strings.Contains(err.Error(), "is not a TUF root") {
		t.Errorf("pinning a timestamp: %v, want an error saying it is not a TUF root", err)
	}

	// Pinned with another tenant's root, the agent trusts that one from now on.
	other := newTUFRepo(t)
	ta := newPinnedAgent(t, other, gw, newFakeRuntime(), dir, other.rootFile(t))
	md := acmeDriver("meter", "1.0.0", gw.pkg(t, "up"))
	other.sign("acme/meter/1.0.0", md.Package)
	ta.deploy("d1", md)
	checkDeployment(t, gw, "d1", driverhub.DeploySucceeded, "", succeeded("meter", "signed target acme/meter/1.0.0")...)
}

// BenchmarkTrustRefresh is what a pinned agent adds to each deployment
// when nothing was signed since the last one: a refresh through the
// gateway API on loopback (the next root's 404, the timestamp, the local
// snapshot and targets verified again) and the check of one package.
func BenchmarkTrustRefresh(b *testing.B) {
	r := newTUFRepo(b)
	gw := &testGateway{blobs: map[string][]byte{}, srv: httptest.NewServer(http.NotFoundHandler())}
	b.Cleanup(gw.srv.Close)
	ta := newPinnedAgent(b, r, gw, newFakeRuntime(), "", r.rootFile(b))
	md := acmeDriver("meter", "1.0.0", gw.serve([]byte("package"), []byte("package")))
	r.sign("acme/meter/1.0.0", md.Package)
	ctx := context.Background()
	if _, err := ta.checkSigned(ctx, &progress{}, &md); err != nil { // the first refresh fetches everything
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ta.checkSigned(ctx, &progress{}, &md); err != nil {
			b.Fatal(err)
		}
	}
}
