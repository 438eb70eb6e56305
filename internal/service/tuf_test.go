package service_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

func TestTUFRepositoryBeforeAndAfterTrustInit(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	for _, f := range []string{"root.json", "timestamp.json", "1.root.json"} {
		_, err := ts.TUFMetadata(ts.admin, f)
		wantErr(t, err, driverhub.ENotFound, "")
	}
	keys := must(ts.TUFOnlineKeys(ts.admin))(t)
	if again := must(ts.TUFOnlineKeys(ts.admin))(t); !bytes.Equal(keys.Snapshot, again.Snapshot) || !bytes.Equal(keys.Timestamp, again.Timestamp) {
		t.Errorf("the online keys changed between two calls")
	}
	if bytes.Equal(keys.Snapshot, keys.Timestamp) {
		t.Errorf("snapshot and timestamp share one key")
	}
	other := ts.tenantCtx(t, "acme")
	if k := must(ts.TUFOnlineKeys(other))(t); bytes.Equal(k.Snapshot, keys.Snapshot) {
		t.Errorf("two tenants share an online key")
	}

	tr := initTrust(t, ts, ts.admin)
	pinned := tr.file(t, "root.json")
	if !bytes.Equal(pinned, tr.file(t, "1.root.json")) {
		t.Errorf("root.json and 1.root.json differ")
	}
	// A TUF client pinned to the root trusts what the server signed.
	trusted, err := tr.client(t, pinned, ts.clock.Now())
	if err != nil {
		t.Fatalf("a TUF client refuses the new repository: %v", err)
	}
	if trusted.Timestamp.Signed.Version != 1 || trusted.Snapshot.Signed.Version != 1 || trusted.Targets[metadata.TARGETS].Signed.Version != 1 {
		t.Errorf("versions timestamp %d, snapshot %d, targets %d; want 1, 1, 1", trusted.Timestamp.Signed.Version,
			trusted.Snapshot.Signed.Version, trusted.Targets[metadata.TARGETS].Signed.Version)
	}
	if got := trusted.Snapshot.Signed.Expires.Sub(ts.clock.Now()); got != driverhub.TUFSnapshotExpiry {
		t.Errorf("snapshot expires in %s, want %s", got, driverhub.TUFSnapshotExpiry)
	}
	if got := trusted.Timestamp.Signed.Expires.Sub(ts.clock.Now()); got != driverhub.DefaultTUFTimestampExpiry {
		t.Errorf("timestamp expires in %s, want %s", got, driverhub.DefaultTUFTimestampExpiry)
	}
	// Other tenants see none of it.
	_, err = ts.TUFMetadata(other, "root.json")
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestSigningAPackageResignsSnapshotAndTimestamp(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	v := ts.ready(t, ts.admin, driverIn("Meter", "python3"))
	next := tr.nextTargets(t, func(s *metadata.TargetsType) { s.Targets["default/Meter/1"] = target(t, v, "python3") })
	up := must(ts.PutTUFTargets(ts.admin, signed(t, next, tr.targetsKeys...)))(t)
	if up.Version != 2 || up.SnapshotVersion != 2 || up.TimestampVersion != 2 {
		t.Errorf("upload answered %+v, want targets, snapshot and timestamp version 2", up)
	}
	trusted, err := tr.client(t, tr.file(t, "1.root.json"), ts.clock.Now())
	if err != nil {
		t.Fatalf("a TUF client refuses the repository after signing: %v", err)
	}
	tf := trusted.Targets[metadata.TARGETS].Signed.Targets["default/Meter/1"]
	if tf == nil || tf.Length != v.Package.Size {
		t.Fatalf("the client's targets hold %+v for default/Meter/1, want the package of %d bytes", tf, v.Package.Size)
	}
	if c, ok := tufmeta.Custom(tf); !ok || c.Runtime != "python3" || c.MinEdgeVersion != "1.0.0" {
		t.Errorf("custom = %+v, want runtime python3, min_edge_version 1.0.0", c)
	}
	// Old versions stay served (consistent snapshots); only the newest timestamp is.
	for _, f := range []string{"1.targets.json", "2.targets.json", "1.snapshot.json", "2.snapshot.json"} {
		tr.file(t, f)
	}
	_, err = ts.TUFMetadata(ts.admin, "3.targets.json")
	wantErr(t, err, driverhub.ENotFound, "")
	for _, bad := range []string{"targets.json", "snapshot.json", "01.root.json", "+1.root.json", "1.timestamp.json", "../root.json"} {
		_, err := ts.TUFMetadata(ts.admin, bad)
		wantErr(t, err, driverhub.ENotFound, "")
	}
}

func TestGatewaysReadTheirTenantsRepository(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	mine := ts.newInstance(t, ts.admin, "gw1")
	acme := ts.tenantCtx(t, "acme")
	theirs := ts.newInstance(t, acme, "gw2")
	got := must(ts.GatewayTUFMetadata(ts.gatewayCtx(t, mine.GatewaySecret), "timestamp.json"))(t)
	if !bytes.Equal(got, tr.file(t, "timestamp.json")) {
		t.Errorf("the gateway read another timestamp than the tenant's")
	}
	_, err := ts.GatewayTUFMetadata(ts.gatewayCtx(t, theirs.GatewaySecret), "root.json")
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.GatewayTUFMetadata(ts.admin, "root.json")
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestTUFNeedsTheSecretKey(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	_, err := ts.TUFOnlineKeys(ts.admin)
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	contains(t, "message", e.Message, "secret key", "--secret-key-file", "DRIVERHUB_SECRET_KEY")
	_, err = ts.TUFMetadata(ts.admin, "root.json")
	wantErr(t, err, driverhub.EFailedPrecondition, "")

	// A replica started with another secret key cannot sign with the keys.
	ts2 := newTestService(t, withTUF)
	tr := initTrust(t, ts2, ts2.admin)
	other := ts2.replica(t, func(c *service.Config) { c.TUF.SecretKey = bytes.Repeat([]byte{1}, 32) })
	next := tr.nextTargets(t, nil)
	_, err = other.PutTUFTargets(ts2.admin, signed(t, next, tr.targetsKeys...))
	e = wantErr(t, err, driverhub.EFailedPrecondition, "")
	contains(t, "message", e.Message, "secret key")
}

func TestTUFRoles(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	viewer := ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer)
	// Developers sign packages (CI); only admins change the root.
	devTrust := *tr
	devTrust.ctx = dev
	ok(t, devTrust.putTargets(t, tr.nextTargets(t, nil), tr.targetsKeys...))
	_, err := ts.PutTUFRoot(dev, signed(t, tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1), tr.rootKeys...))
	wantErr(t, err, driverhub.EPermissionDenied, "")
	_, err = ts.PutTUFTargets(viewer, signed(t, devTrust.nextTargets(t, nil), tr.targetsKeys...))
	wantErr(t, err, driverhub.EPermissionDenied, "")
	if b := must(ts.TUFMetadata(viewer, "timestamp.json"))(t); !strings.Contains(string(b), `"timestamp"`) {
		t.Errorf("a viewer reads %s", b)
	}
}

func TestTenantRequireSignedDrivers(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	v := must(ts.GetTenant(ts.admin))(t)
	if v.Name != "default" || v.RequireSignedDrivers {
		t.Errorf("GetTenant = %+v, want default, not requiring signed drivers", v)
	}
	viewer := ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer)
	_, err := ts.UpdateTenant(viewer, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)})
	wantErr(t, err, driverhub.EPermissionDenied, "")
	v = must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)}))(t)
	if !v.RequireSignedDrivers || !must(ts.GetTenant(viewer))(t).RequireSignedDrivers {
		t.Errorf("after UpdateTenant(true): %+v", v)
	}
	if v := must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{}))(t); !v.RequireSignedDrivers {
		t.Errorf("an empty update changed the policy: %+v", v)
	}
	acme := ts.tenantCtx(t, "acme")
	if must(ts.GetTenant(acme))(t).RequireSignedDrivers {
		t.Errorf("another tenant's policy changed with default's")
	}
}

// TestANewRootWithNewOnlineKeys covers the loss of the server's secret
// key: an operator deletes the tenant's sealed keys, the server makes new
// ones, and a root signed offline names them; clients walk to it and trust
// the snapshot and timestamp the server signed again at once.
func TestANewRootWithNewOnlineKeys(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	pinned := tr.file(t, "root.json")
	ts.exec(t, `DELETE FROM tuf_keys`)
	fresh := must(ts.TUFOnlineKeys(ts.admin))(t)
	if bytes.Equal(fresh.Timestamp, tr.online.Timestamp) {
		t.Fatalf("the server kept its timestamp key")
	}
	// Until a root names them, the repository cannot be signed with them.
	_, err := ts.PutTUFTargets(ts.admin, signed(t, tr.nextTargets(t, nil), tr.targetsKeys...))
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	contains(t, "message", e.Message, "driverhub trust rotate")
	tr.online = fresh
	ok(t, tr.putRoot(t, tr.makeRoot(t, 2, tr.rootKeys, tr.targetsKeys, 1, 1), tr.rootKeys...))
	trusted, err := tr.client(t, pinned, ts.clock.Now())
	if err != nil {
		t.Fatalf("a client pinned to root 1 refuses the repository after the new root: %v", err)
	}
	if trusted.Root.Signed.Version != 2 || trusted.Timestamp.Signed.Version != 2 {
		t.Errorf("client at root %d, timestamp %d; want 2 and 2", trusted.Root.Signed.Version, trusted.Timestamp.Signed.Version)
	}
}
