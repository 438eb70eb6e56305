package service_test

import (
	"context"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestEdgeVersionsAreTheTenantsGatewaysNewestFirst(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	for name, version := range map[string]string{"line-1": "1.2.0", "line-2": "1.10.0", "line-3": "1.2.0", "line-4": "1.9.3"} {
		i := ts.newInstance(t, ts.admin, name)
		ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: version})
	}
	ts.newInstance(t, ts.admin, "never-seen")
	other := ts.tenantCtx(t, "globex")
	ts.report(t, ts.newInstance(t, other, "theirs").GatewaySecret, driverhub.GatewayReport{EdgeVersion: "9.9.9"})

	viewer := ts.userCtx(t, ts.admin, "vera", driverhub.RoleViewer)
	got, err := ts.EdgeVersions(viewer)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.10.0", "1.9.3", "1.2.0"}; !slices.Equal(got, want) {
		t.Errorf("EdgeVersions = %q, want %q (distinct, newest first, this tenant's only)", got, want)
	}
	if got, err := ts.EdgeVersions(other); err != nil || !slices.Equal(got, []string{"9.9.9"}) {
		t.Errorf("the other tenant's EdgeVersions = %q, %v", got, err)
	}
	fresh := ts.tenantCtx(t, "initech")
	if got, err := ts.EdgeVersions(fresh); err != nil || got == nil || len(got) != 0 {
		t.Errorf("a tenant without gateways: %#v, %v; want an empty list", got, err)
	}
	_, err = ts.EdgeVersions(context.Background())
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestRuntimeVersionsNeedASignedInCaller(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	got, err := ts.RuntimeVersions(ts.admin)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("before any gateway reported: %#v, %v; want an empty map", got, err)
	}
	_, err = ts.RuntimeVersions(context.Background())
	wantErr(t, err, driverhub.EUnauthenticated, "")
}
