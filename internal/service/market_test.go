package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

func TestListingNeedsAPublishedVersion(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Meter", "python3"))
	ts.newVersion(t, ts.admin, "Meter", "1")
	ts.upload(t, ts.admin, "Meter", "1")
	_, err := ts.PutListing(ts.admin, "Meter", driverhub.ListingInput{Title: "Meter"})
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	if len(e.Problems) != 1 || e.Problems[0].Code != driverhub.ProblemNoPublishedVersion || !strings.Contains(e.Problems[0].Resource, "Meter") {
		t.Errorf("problems %+v, want no_published_version of Meter", e.Problems)
	}
	for _, tt := range []struct {
		in    driverhub.ListingInput
		field string
	}{
		{driverhub.ListingInput{}, "title"},
		{driverhub.ListingInput{Title: strings.Repeat("t", driverhub.MaxListingTitleBytes+1)}, "title"},
		{driverhub.ListingInput{Title: "Meter", Summary: strings.Repeat("s", driverhub.MaxListingSummaryBytes+1)}, "summary"},
	} {
		_, err := ts.PutListing(ts.admin, "Meter", tt.in)
		wantErr(t, err, driverhub.EInvalid, tt.field)
	}
	_, err = ts.PutListing(ts.admin, "Nope", driverhub.ListingInput{Title: "Nope"})
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.PutListing(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "Meter", driverhub.ListingInput{Title: "Meter"})
	wantErr(t, err, driverhub.EPermissionDenied, "")

	must(ts.PublishVersion(ts.admin, "Meter", "1"))(t)
	l := must(ts.PutListing(ts.admin, "Meter", driverhub.ListingInput{Title: "Meter", Summary: "reads meters"}))(t)
	if l.Publisher != "default" || l.LatestVersion != "1" || !l.ListedAt.Equal(t0) {
		t.Errorf("listing %+v", l)
	}
	// Changing a listing keeps its date.
	ts.clock.Advance(time.Hour)
	l = must(ts.PutListing(ts.admin, "Meter", driverhub.ListingInput{Title: "Meter 2"}))(t)
	if l.Title != "Meter 2" || !l.ListedAt.Equal(t0) {
		t.Errorf("changed listing %+v, want title Meter 2 listed at %v", l, t0)
	}
}

// marketFixture: tenant acme lists Meter (version 1 published, 2 a
// draft) and owns Hidden (published, never listed); default acquires Meter.
func marketFixture(t *testing.T) (ts *testService, acme context.Context) {
	ts = newTestService(t)
	acme = ts.tenantCtx(t, "acme")
	ts.ready(t, acme, driverIn("Meter", "python3"))
	ts.newVersion(t, acme, "Meter", "2")
	ts.ready(t, acme, driverIn("Hidden", "python3"))
	must(ts.PutListing(acme, "Meter", driverhub.ListingInput{Title: "Meter"}))(t)
	return ts, acme
}

func TestAcquireIsIdempotent(t *testing.T) {
	t.Parallel()
	ts, acme := marketFixture(t)
	first := must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	ts.clock.Advance(time.Hour)
	again := must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	if !again.AcquiredAt.Equal(first.AcquiredAt) || again.Publisher != "acme" || again.Driver != "Meter" {
		t.Errorf("acquiring again answered %+v, first %+v", again, first)
	}
	if l := must(ts.ListAcquisitions(ts.admin, driverhub.Page{}))(t); len(l.Items) != 1 {
		t.Errorf("%d acquisitions, want 1", len(l.Items))
	}
	_, err := ts.Acquire(acme, "acme", "Meter")
	wantErr(t, err, driverhub.EInvalid, "publisher")
	_, err = ts.Acquire(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "acme", "Meter")
	wantErr(t, err, driverhub.EPermissionDenied, "")

	beta := ts.tenantCtx(t, "beta")
	for ctx, acquired := range map[context.Context]bool{ts.admin: true, beta: false} {
		l := must(ts.ListMarket(ctx, driverhub.Page{}))(t)
		if len(l.Items) != 1 || l.Items[0].Driver != "Meter" || l.Items[0].Acquired != acquired {
			t.Errorf("%s sees the market as %+v; want Meter, acquired %v", driverhub.PrincipalFrom(ctx).TenantName, l.Items, acquired)
		}
	}
	md := must(ts.GetMarketDriver(beta, "acme", "Meter"))(t)
	if len(md.Versions) != 1 || md.Versions[0].Version != "1" {
		t.Errorf("the market offers versions %+v, want only the published 1", md.Versions)
	}
	must(ts.OpenMarketPackage(beta, "acme", "Meter", "1"))(t)
	_, err = ts.OpenMarketPackage(beta, "acme", "Meter", "2")
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestUnlistStopsNewAcquisitionsOnly(t *testing.T) {
	t.Parallel()
	ts, acme := marketFixture(t)
	must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	ts.newInstance(t, ts.admin, "edge")
	must(ts.Bind(ts.admin, "edge", "Meter", driverhub.BindingInput{Publisher: ptr("acme")}))(t)
	beta := ts.tenantCtx(t, "beta")

	ok(t, ts.DeleteListing(acme, "Meter"))
	wantErr(t, ts.DeleteListing(acme, "Meter"), driverhub.ENotFound, "")
	if l := must(ts.ListMarket(beta, driverhub.Page{}))(t); len(l.Items) != 0 {
		t.Errorf("the market still lists %+v", l.Items)
	}

	// The acquirer keeps what it took.
	md := must(ts.GetMarketDriver(ts.admin, "acme", "Meter"))(t)
	if !md.Acquired || md.LatestVersion != "1" {
		t.Errorf("acquirer sees %+v", md.Listing)
	}
	must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	must(ts.OpenMarketPackage(ts.admin, "acme", "Meter", "1"))(t)
	must(ts.Bind(ts.admin, "edge", "Meter", driverhub.BindingInput{Publisher: ptr("acme"), Version: ptr("1")}))(t)
	ts.deploy(t, ts.admin, "edge")

	// Anyone else finds nothing, whether the driver was unlisted, never
	// listed, or never existed.
	for _, pd := range [][2]string{{"acme", "Meter"}, {"acme", "Hidden"}, {"acme", "Nope"}, {"nobody", "Meter"}} {
		t.Run(pd[0]+"/"+pd[1], func(t *testing.T) {
			_, err := ts.GetMarketDriver(beta, pd[0], pd[1])
			wantErr(t, err, driverhub.ENotFound, "")
			_, err = ts.Acquire(beta, pd[0], pd[1])
			wantErr(t, err, driverhub.ENotFound, "")
			_, err = ts.OpenMarketPackage(beta, pd[0], pd[1], "1")
			wantErr(t, err, driverhub.ENotFound, "")
		})
	}
	if l := must(ts.ListAcquisitions(beta, driverhub.Page{}))(t); len(l.Items) != 0 {
		t.Errorf("beta acquired %+v", l.Items)
	}
}

func TestMarketBuiltinHasNoPackage(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	acme := ts.tenantCtx(t, "acme")
	in := driverIn("Bi", "java")
	in.Builtin = ptr(true)
	ts.ready(t, acme, in)
	must(ts.PutListing(acme, "Bi", driverhub.ListingInput{Title: "Bi"}))(t)
	_, err := ts.OpenMarketPackage(ts.admin, "acme", "Bi", "1")
	wantErr(t, err, driverhub.ENotFound, "")
}
