package service_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

func TestUploadsNotValidlySignedAreRefused(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	stranger := newOfflineKey(t)

	// Wrong key: targets signed by a key the root does not list.
	_, err := ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil), stranger))
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	// Signed by the root key, which is not a targets key either.
	_, err = ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil), tr.rootKeys...))
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	// No signature at all.
	_, err = ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil)))
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")

	// Tampered body: signed, then a byte of the signed part changed.
	body := signed(t, tr.nextTargets(t, nil), tr.targetsKeys...)
	tampered := bytes.Replace(body, []byte(`"version": 2`), []byte(`"version": 3`), 1)
	if bytes.Equal(body, tampered) {
		t.Fatalf("the test's tampering changed nothing in %s", body)
	}
	_, err = ts.PutTUFTargets(ts.admin, tampered)
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")

	// A root signed by a stranger, or tampered after signing.
	_, err = ts.PutTUFRoot(ts.admin, signed(t, tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1), stranger))
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	rootBody := signed(t, tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1), tr.rootKeys...)
	_, err = ts.PutTUFRoot(ts.admin, bytes.Replace(rootBody, []byte(`"threshold": 1`), []byte(`"threshold": 0`), 1))
	wantErr(t, err, driverhub.EInvalid, "signed.roles.root.threshold")

	// Nothing refused was stored: the repository is still at version 1.
	trusted, err := tr.client(t, tr.file(t, "root.json"), ts.clock.Now())
	if err != nil || trusted.Targets[metadata.TARGETS].Signed.Version != 1 || trusted.Root.Signed.Version != 1 {
		t.Errorf("after refused uploads the repository is %v, %v; want root and targets version 1", trusted, err)
	}
}

func TestThresholdsAreCounted(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	t1, t2 := newOfflineKey(t), newOfflineKey(t)
	ok(t, tr.putRoot(t, tr.makeRoot(t, 2, tr.rootKeys, []*offlineKey{t1, t2}, 1, 2), tr.rootKeys...))
	tr.targetsKeys = []*offlineKey{t1, t2}

	_, err := ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil), t1))
	e := wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	contains(t, "message", e.Message, "not signed by 2 of the targets keys")
	ok(t, tr.putTargets(t, tr.nextTargets(t, nil), t1, t2))

	// A root whose threshold its keys cannot reach is refused before any signature is checked.
	_, err = ts.PutTUFRoot(ts.admin, signed(t, tr.makeRoot(t, 3, tr.rootKeys, []*offlineKey{t1}, 1, 2), tr.rootKeys...))
	wantErr(t, err, driverhub.EInvalid, "signed.roles.targets.keyids")
}

func TestRootRotationNeedsTheOldThreshold(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	a, b, c := tr.rootKeys[0], newOfflineKey(t), newOfflineKey(t)
	// Version 2: root keys a and b, threshold 2.
	ok(t, tr.putRoot(t, tr.makeRoot(t, 2, []*offlineKey{a, b}, tr.targetsKeys, 2, 1), a, b))

	// Version 3 replaces them with c: c alone, or one of the old keys, is not enough.
	v3 := tr.makeRoot(t, 3, []*offlineKey{c}, tr.targetsKeys, 1, 1)
	for _, keys := range [][]*offlineKey{{c}, {a, c}, {b, c}} {
		_, err := ts.PutTUFRoot(ts.admin, signed(t, v3, keys...))
		e := wantErr(t, err, driverhub.EInvalidSignature, "signatures")
		contains(t, "message", e.Message, "current root's keys (version 2)")
	}
	// The old keys without the new one: the new root's own threshold is not met.
	_, err := ts.PutTUFRoot(ts.admin, signed(t, v3, a, b))
	e := wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	contains(t, "message", e.Message, "root keys it lists")
	ok(t, tr.putRoot(t, v3, a, b, c))

	// From now on c alone signs; a and b no longer do.
	_, err = ts.PutTUFRoot(ts.admin, signed(t, tr.makeRoot(t, 4, []*offlineKey{a}, tr.targetsKeys, 1, 1), a, b))
	wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	ok(t, tr.putRoot(t, tr.makeRoot(t, 4, []*offlineKey{c}, tr.targetsKeys, 1, 1), c))

	// A client pinned to version 1 walks 2, 3, 4.
	trusted, err := tr.client(t, tr.file(t, "1.root.json"), ts.clock.Now())
	if err != nil || trusted.Root.Signed.Version != 4 {
		t.Fatalf("a client pinned to root 1 ends at %v, %v; want root version 4", trusted, err)
	}
	if !bytes.Equal(tr.file(t, "root.json"), tr.file(t, "4.root.json")) {
		t.Errorf("root.json is not version 4")
	}
}

func TestRootVersionsAndSettingsAreChecked(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	for _, tc := range []struct {
		name  string
		root  func() *metadata.Metadata[metadata.RootType]
		field string
	}{
		{"the same version again", func() *metadata.Metadata[metadata.RootType] {
			return tr.makeRoot(t, 1, tr.rootKeys, tr.targetsKeys, 1, 1)
		}, "signed.version"},
		{"a version skipped", func() *metadata.Metadata[metadata.RootType] {
			return tr.makeRoot(t, 3, tr.rootKeys, tr.targetsKeys, 1, 1)
		}, "signed.version"},
		{"expired", func() *metadata.Metadata[metadata.RootType] {
			r := tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1)
			r.Signed.Expires = ts.clock.Now().Add(-1)
			return r
		}, "signed.expires"},
		{"without consistent snapshots", func() *metadata.Metadata[metadata.RootType] {
			r := tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1)
			r.Signed.ConsistentSnapshot = false
			return r
		}, "signed.consistent_snapshot"},
		{"a timestamp key the server does not hold", func() *metadata.Metadata[metadata.RootType] {
			r := tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1)
			ok(t, r.Signed.AddKey(newOfflineKey(t).key, metadata.TIMESTAMP))
			return r
		}, "signed.roles.timestamp"},
	} {
		_, err := ts.PutTUFRoot(ts.admin, signed(t, tc.root(), tr.rootKeys...))
		e := wantErr(t, err, driverhub.EInvalid, tc.field)
		t.Logf("%s: %s", tc.name, e.Message)
	}
	_, err := ts.PutTUFRoot(ts.admin, []byte(`{"signed": {"_type": "targets"}, "signatures": []}`))
	wantErr(t, err, driverhub.EInvalid, "")
}

func TestATargetsKeyRevokedByANewRootNoLongerSigns(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	v := ts.ready(t, ts.admin, driverIn("Meter", "python3"))
	ok(t, tr.sign(t, "default", v, "python3"))
	old := tr.targetsKeys[0]
	fresh := newOfflineKey(t)
	ok(t, tr.putRoot(t, tr.makeRoot(t, 2, tr.rootKeys, []*offlineKey{fresh}, 1, 1), tr.rootKeys...))

	// Targets signed with the old key are refused now...
	_, err := ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil), old))
	e := wantErr(t, err, driverhub.EInvalidSignature, "signatures")
	contains(t, "message", e.Message, "root version 2")
	// ...and those it signed before no longer count at deploy time.
	ts.bind(t, ts.admin, ts.newInstance(t, ts.admin, "gw").Name, "Meter", "1")
	must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)}))(t)
	_, err = ts.CreateDeployment(ts.admin, "gw", driverhub.DeployTypeDeploy)
	if e := wantErr(t, err, driverhub.EFailedPrecondition, ""); len(e.Problems) != 1 ||
		e.Problems[0].Code != driverhub.ProblemSignatureMissing || !strings.Contains(e.Problems[0].Message, "root version 2") {
		t.Errorf("deploy after the targets key was replaced: %+v, want signature_missing naming root version 2", e.Problems)
	}
	sigs := must(ts.DriverSignatures(ts.admin, "Meter"))(t)
	if sigs.Of("1").Signed {
		t.Errorf("version 1 shows as signed by a revoked key: %+v", sigs)
	}

	// Signed again with the new key, it deploys, and shows the new key.
	tr.targetsKeys = []*offlineKey{fresh}
	ok(t, tr.putTargets(t, tr.nextTargets(t, nil), fresh))
	ts.deploy(t, ts.admin, "gw")
	if got := must(ts.DriverSignatures(ts.admin, "Meter"))(t).Of("1"); !got.Signed || len(got.KeyIDs) != 1 || got.KeyIDs[0] != fresh.id {
		t.Errorf("version 1 after re-signing: %+v, want signed by %s", got, fresh.id)
	}
}

func TestARevokedNameIsNeverSignedAgain(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	v := ts.ready(t, ts.admin, driverIn("Meter", "python3"))
	ok(t, tr.sign(t, "default", v, "python3"))
	ok(t, tr.unsign(t, "default/Meter/1"))
	sigs := must(ts.DriverSignatures(ts.admin, "Meter"))(t)
	if got := sigs.Of("1"); got.Signed || !got.Revoked || len(sigs.Revoked) != 1 || sigs.Revoked[0] != "1" {
		t.Errorf("after unsign: %+v", sigs)
	}

	err := tr.sign(t, "default", v, "python3")
	e := wantErr(t, err, driverhub.EInvalid, "signed.targets.default/Meter/1")
	contains(t, "message", e.Message, "default/Meter/1", "revoked")

	// Dropping the name from the revoked list is refused too.
	next := tr.nextTargets(t, func(s *metadata.TargetsType) {
		tufmeta.SetRevoked(s, nil)
		s.Targets["default/Meter/1"] = target(t, v, "python3")
	})
	_, err = ts.PutTUFTargets(ts.admin, signed(t, next, tr.targetsKeys...))
	e = wantErr(t, err, driverhub.EInvalid, "signed.custom.revoked")
	contains(t, "message", e.Message, "default/Meter/1", "stays revoked")
}

func TestTargetsMustMatchTheServersRecords(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	v := ts.ready(t, ts.admin, driverIn("Meter", "python3"))
	ts.newVersion(t, ts.admin, "Meter", "2")
	draft := ts.upload(t, ts.admin, "Meter", "2")
	acme := ts.tenantCtx(t, "acme")
	theirs := ts.ready(t, acme, driverIn("Pump", "nodejs"))

	wrongSHA := target(t, v, "python3")
	wrongSHA.Hashes["sha256"] = bytes.Repeat([]byte{1}, 32)
	wrongLength := target(t, v, "python3")
	wrongLength.Length++
	wrongCustom := target(t, v, "nodejs")
	extraHash := target(t, v, "python3")
	extraHash.Hashes["sha512"] = bytes.Repeat([]byte{1}, 64)
	cases := map[string]*metadata.TargetFiles{
		"default/Meter/1":    wrongSHA,
		"default/Meter/2":    target(t, draft, "python3"),
		"default/Meter/9":    target(t, v, "python3"),
		"default/Nothing/1":  target(t, v, "python3"),
		"acme/Pump/1":        target(t, theirs, "nodejs"),
		"nobody/Meter/1":     target(t, v, "python3"),
		"Meter/1":            target(t, v, "python3"),
		"default/Meter/1.0x": wrongLength,
	}
	next := tr.nextTargets(t, func(s *metadata.TargetsType) {
		for name, tf := range cases {
			s.Targets[name] = tf
		}
	})
	_, err := ts.PutTUFTargets(ts.admin, signed(t, next, tr.targetsKeys...))
	e := wantErr(t, err, driverhub.EInvalid, "signed.targets")
	if len(e.Problems) != len(cases) {
		t.Errorf("%d problems, want one per target (%d): %+v", len(e.Problems), len(cases), e.Problems)
	}
	for _, p := range e.Problems {
		name := strings.TrimPrefix(p.Field, "signed.targets.")
		if cases[name] == nil || p.Resource != "target "+name {
			t.Errorf("problem %+v does not name its target", p)
		}
	}
	// One at a time, each answer names the field of the target.
	for name, tf := range map[string]*metadata.TargetFiles{"default/Meter/1": wrongCustom, "default/Meter/1 ": extraHash} {
		name = strings.TrimSpace(name)
		one := tr.nextTargets(t, func(s *metadata.TargetsType) { s.Targets[name] = tf })
		_, err := ts.PutTUFTargets(ts.admin, signed(t, one, tr.targetsKeys...))
		e := wantErr(t, err, driverhub.EInvalid, "signed.targets."+name)
		t.Logf("%s", e.Message)
	}
	ok(t, tr.sign(t, "default", v, "python3"))
}

func TestTargetsVersionsAndExpiryAreChecked(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	same := tr.nextTargets(t, func(s *metadata.TargetsType) { s.Version = 1 })
	_, err := ts.PutTUFTargets(ts.admin, signed(t, same, tr.targetsKeys...))
	wantErr(t, err, driverhub.EInvalid, "signed.version")
	expired := tr.nextTargets(t, func(s *metadata.TargetsType) { s.Expires = ts.clock.Now() })
	_, err = ts.PutTUFTargets(ts.admin, signed(t, expired, tr.targetsKeys...))
	wantErr(t, err, driverhub.EInvalid, "signed.expires")
	delegating := tr.nextTargets(t, func(s *metadata.TargetsType) { s.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}} })
	_, err = ts.PutTUFTargets(ts.admin, signed(t, delegating, tr.targetsKeys...))
	wantErr(t, err, driverhub.EInvalid, "signed.delegations")
	// Skipping versions is allowed: only rollback is refused.
	ok(t, tr.putTargets(t, tr.nextTargets(t, func(s *metadata.TargetsType) { s.Version = 10 }), tr.targetsKeys...))

	// Before trust init there is nothing to upload targets into.
	acme := ts.tenantCtx(t, "acme")
	_, err = ts.PutTUFTargets(acme, signed(t, tr.nextTargets(t, nil), tr.targetsKeys...))
	wantErr(t, err, driverhub.ENotFound, "")
}
