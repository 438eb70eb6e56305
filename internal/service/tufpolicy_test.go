package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// signatureProblems deploys gw and returns the messages of its
// signature_missing problems, failing on any other outcome.
func signatureProblems(t *testing.T, ts *testService, ctx context.Context, instance string) map[string]string {
	t.Helper()
	_, err := ts.CreateDeployment(ctx, instance, driverhub.DeployTypeDeploy)
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	out := map[string]string{}
	for _, p := range e.Problems {
		if p.Code != driverhub.ProblemSignatureMissing {
			t.Errorf("unexpected problem %+v", p)
		}
		out[p.Resource] = p.Message
	}
	return out
}

func TestSignatureMissingAtDeploy(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	ts.newInstance(t, ts.admin, "gw")
	signedV := ts.ready(t, ts.admin, driverIn("Signed", "python3"))
	ts.ready(t, ts.admin, driverIn("Unsigned", "nodejs"))
	revokedV := ts.ready(t, ts.admin, driverIn("Revoked", "python3"))
	changedV := ts.ready(t, ts.admin, driverIn("Changed", "python3"))
	builtin := driverIn("Builtin", "c")
	builtin.Builtin = ptr(true)
	ts.ready(t, ts.admin, builtin)
	for _, d := range []string{"Signed", "Unsigned", "Revoked", "Changed", "Builtin"} {
		ts.bind(t, ts.admin, "gw", d, "")
	}
	ok(t, tr.sign(t, "default", signedV, "python3"))
	ok(t, tr.sign(t, "default", revokedV, "python3"))
	ok(t, tr.sign(t, "default", changedV, "python3"))
	ok(t, tr.unsign(t, "default/Revoked/1"))

	// Without the policy, anything deploys.
	ts.deploy(t, ts.admin, "gw")

	must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)}))(t)
	// Someone with the database swaps the package of a published version.
	ts.exec(t, `UPDATE driver_versions SET package_sha256 = ? WHERE package_sha256 = ?`, strings.Repeat("ab", 32), changedV.Package.SHA256)
	got := signatureProblems(t, ts, ts.admin, "gw")
	want := map[string]string{
		"driver Unsigned": "driverhub sign Unsigned 1",
		"driver Revoked":  "revoked",
		"driver Changed":  "is not the one signed",
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want one each for %v", got, want)
	}
	for res, part := range want {
		contains(t, res, got[res], part)
	}

	// Signed (and restored) packages deploy; built-ins have none to sign.
	ts.exec(t, `UPDATE driver_versions SET package_sha256 = ? WHERE package_sha256 = ?`, changedV.Package.SHA256, strings.Repeat("ab", 32))
	ok(t, ts.Unbind(ts.admin, "gw", "Unsigned"))
	ok(t, ts.Unbind(ts.admin, "gw", "Revoked"))
	d := ts.deploy(t, ts.admin, "gw")
	if len(d.Manifest.Drivers) != 3 {
		t.Errorf("deployed %d drivers, want Signed, Changed and Builtin", len(d.Manifest.Drivers))
	}
}

func TestSignatureMissingWhenTheRepositoryCannotVouch(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	ts.newInstance(t, ts.admin, "gw")
	v := ts.ready(t, ts.admin, driverIn("Meter", "python3"))
	ts.bind(t, ts.admin, "gw", "Meter", "")
	must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)}))(t)

	contains(t, "before trust init", signatureProblems(t, ts, ts.admin, "gw")["driver Meter"], "trust init")
	tr := initTrust(t, ts, ts.admin)
	ok(t, tr.sign(t, "default", v, "python3"))
	ts.deploy(t, ts.admin, "gw")
	ts.clock.Advance(driverhub.TUFTargetsExpiry + time.Second)
	contains(t, "after the targets expired", signatureProblems(t, ts, ts.admin, "gw")["driver Meter"], "targets.json version 2 expired")
}

func TestAnAcquiredMarketDriverIsSignedByTheAcquirer(t *testing.T) {
	t.Parallel()
	// As marketFixture, with TUF: acme lists Meter (1 published, 2 a draft).
	ts := newTestService(t, withTUF)
	acme := ts.tenantCtx(t, "acme")
	ts.ready(t, acme, driverIn("Meter", "python3"))
	ts.newVersion(t, acme, "Meter", "2")
	must(ts.PutListing(acme, "Meter", driverhub.ListingInput{Title: "Meter"}))(t)
	must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	tr := initTrust(t, ts, ts.admin)
	ts.newInstance(t, ts.admin, "gw")
	b := must(ts.Bind(ts.admin, "gw", "Meter", driverhub.BindingInput{Publisher: ptr("acme")}))(t)
	must(ts.UpdateTenant(ts.admin, driverhub.TenantSettings{RequireSignedDrivers: ptr(true)}))(t)
	contains(t, "unsigned acquired driver", signatureProblems(t, ts, ts.admin, "gw")["driver Meter"], "driverhub sign Meter 1")

	v := must(ts.GetMarketDriver(ts.admin, "acme", "Meter"))(t)
	var published *driverhub.DriverVersion
	for _, mv := range v.Versions {
		if mv.Version == b.Version {
			published = mv
		}
	}
	if published == nil || published.Package == nil {
		t.Fatalf("the marketplace does not show version %s of acme/Meter with its package: %+v", b.Version, v.Versions)
	}
	// The publisher's draft cannot be signed by the acquirer.
	draft := *published
	draft.Version = "2"
	e := wantErr(t, tr.sign(t, "acme", &draft, "python3"), driverhub.EInvalid, "signed.targets.acme/Meter/2")
	contains(t, "message", e.Message, "acme/Meter/2")
	ok(t, tr.sign(t, "acme", published, "python3"))
	ts.deploy(t, ts.admin, "gw")

	// The publisher's own repository vouches for nothing of default's.
	acmeTrust := initTrust(t, ts, acme)
	if acmeTrust.targets.Signed.Targets["acme/Meter/1"] != nil {
		t.Errorf("the acquirer's signature shows in the publisher's repository")
	}
}
