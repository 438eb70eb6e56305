package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// claim runs ClaimBlob and returns whether it claimed.
func claim(t testing.TB, s driverhub.Store, sha string, size int64, at, stale time.Time) bool {
	t.Helper()
	return fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) {
		return tx.ClaimBlob(ctx, sha, size, at, stale)
	})
}

func collectable(t testing.TB, s driverhub.Store, cutoff, stale time.Time) []string {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]string, error) {
		return tx.CollectableBlobs(ctx, cutoff, stale, "", 100)
	})
}

func startDeletion(t testing.TB, s driverhub.Store, sha string, cutoff, stale, at time.Time) bool {
	t.Helper()
	return fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) {
		return tx.StartBlobDeletion(ctx, sha, cutoff, stale, at)
	})
}

func markUnreferenced(t testing.TB, s driverhub.Store, at time.Time) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.MarkUnreferencedBlobs(ctx, at) })
}

func sorted(s ...string) []string { return slices.Sorted(slices.Values(s)) }

// testBlobCollection walks blobs through the collector's steps on a clock
// of its own: stamped unreferenced, collectable once both the stamp and
// the last claim are older than the cutoff, and deleted by one collector.
func testBlobCollection(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d := newDriver(tn, "modbus")
	create(t, s, tn, d)
	t0 := now()
	never := t0.Add(-time.Hour) // no deletion is stale
	unref, ref, found := digest(), digest(), digest()
	if !claim(t, s, unref, 10, t0, never) || !claim(t, s, ref, 20, t0, never) {
		t.Fatal("ClaimBlob of new blobs did not claim")
	}
	v := newVersion(d, "1.0")
	v.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 20, SHA256: ref}
	create(t, s, v)
	added := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) {
		return tx.AddBlobs(ctx, []driverhub.BlobInfo{{Key: found, Size: 30}, {Key: unref, Size: 10}}, t0)
	})
	if added != 1 {
		t.Errorf("AddBlobs of one new and one claimed blob added %d, want 1", added)
	}
	markUnreferenced(t, s, t0)
	if got := collectable(t, s, t0.Add(-time.Second), never); len(got) != 0 {
		t.Errorf("collectable before the cutoff passed the stamps: %v", got)
	}
	t1 := t0.Add(2 * time.Hour)
	cutoff := t1.Add(-time.Hour)
	if diff := cmp.Diff(sorted(unref, found), collectable(t, s, cutoff, never)); diff != "" {
		t.Errorf("collectable (-want +got):\n%s", diff)
	}

	// A new claim (an upload of the same bytes) takes a blob out.
	claim(t, s, unref, 10, t1, never)
	if got := collectable(t, s, cutoff, never); !slices.Equal(got, []string{found}) {
		t.Errorf("collectable after a claim = %v, want only %s", got, found)
	}
	if startDeletion(t, s, unref, cutoff, never, t1) {
		t.Error("StartBlobDeletion of a blob claimed after the cutoff started")
	}

	// One collector deletes; nobody claims or deletes meanwhile.
	if !startDeletion(t, s, found, cutoff, never, t1) {
		t.Fatal("StartBlobDeletion of a collectable blob did not start")
	}
	if startDeletion(t, s, found, cutoff, never, t1) {
		t.Error("a second StartBlobDeletion of the same blob started")
	}
	if claim(t, s, found, 30, t1, never) {
		t.Error("ClaimBlob of a blob being deleted claimed it")
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.FinishBlobDeletion(ctx, found, t1) })
	if !claim(t, s, found, 30, t1.Add(time.Second), never) {
		t.Error("ClaimBlob after the deletion finished did not claim")
	}
}

// testBlobDeletionTakeover: a deletion started before staleDeletion is
// abandoned; a claim, or another collector, takes it over.
func testBlobDeletionTakeover(t *testing.T, s driverhub.Store) {
	t0 := now()
	never := t0.Add(-time.Hour)
	a, b := digest(), digest()
	claim(t, s, a, 1, t0, never)
	claim(t, s, b, 1, t0, never)
	markUnreferenced(t, s, t0)
	t1 := t0.Add(2 * time.Hour)
	cutoff := t1.Add(-time.Hour)
	startDeletion(t, s, a, cutoff, never, t1)
	startDeletion(t, s, b, cutoff, never, t1)
	t2 := t1.Add(10 * time.Minute)
	stale := t2.Add(-5 * time.Minute)
	if !startDeletion(t, s, a, cutoff, stale, t2) {
		t.Error("StartBlobDeletion did not take over an abandoned deletion")
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.FinishBlobDeletion(ctx, a, t1) })
	if got := collectable(t, s, cutoff, t2.Add(time.Hour)); !slices.Contains(got, a) {
		t.Error("FinishBlobDeletion by the collector that was taken over removed the row")
	}
	if !claim(t, s, b, 1, t2, stale) {
		t.Error("ClaimBlob did not take over an abandoned deletion")
	}
	if ok := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.TouchBlob(ctx, b, t2) }); !ok {
		t.Error("TouchBlob of a claimed blob failed")
	}
	if ok := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.TouchBlob(ctx, a, t2) }); ok {
		t.Error("TouchBlob of a blob being deleted succeeded")
	}
}

// testBlobReferencesStopCollection: a reference made after a sweep
// stamped the blob keeps it, and the next sweep clears the stamp.
func testBlobReferencesStopCollection(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d := newDriver(tn, "modbus")
	create(t, s, tn, d)
	t0 := now()
	never := t0.Add(-time.Hour)
	x := digest()
	claim(t, s, x, 5, t0, never)
	markUnreferenced(t, s, t0)
	v := newVersion(d, "1.0")
	v.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 5, SHA256: x}
	create(t, s, v)
	t1 := t0.Add(2 * time.Hour)
	if startDeletion(t, s, x, t1.Add(-time.Hour), never, t1) {
		t.Error("StartBlobDeletion started on a referenced blob")
	}
	markUnreferenced(t, s, t1)
	if got := collectable(t, s, t1.Add(time.Hour), never); len(got) != 0 {
		t.Errorf("a referenced blob is still stamped after a sweep: %v", got)
	}
}

func testReferencedBlobs(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleDeveloper)
	d := newDriver(tn, "modbus")
	i := edgeInstance(tn, "gw1")
	pkg, file, bound, deployed := digest(), digest(), digest(), digest()
	v := newVersion(d, "1.0")
	v.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 1, SHA256: pkg}
	v2 := newVersion(d, "1.1")
	v2.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 1, SHA256: pkg}
	v2.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "c.ini", Size: 1, SHA256: file}}
	b := edgeBinding(i, tn, d, "1.0")
	b.Config = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "b.ini", Size: 1, SHA256: bound}}
	up := newUpload(u, now().Add(time.Hour))
	create(t, s, tn, u, d, v, v2, i, b, edgeDeployment(i, driverhub.DeployPending, edgeManifest(deployed)))
	createUploads(t, s, up)
	want := sorted(pkg, file, bound, deployed, up.SHA256)
	var got []string
	for after := ""; ; {
		page := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]string, error) { return tx.ReferencedBlobs(ctx, after, 2) })
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReferencedBlobs, by pages of 2 (-want +got):\n%s", diff)
	}
}

// testTenantBlobUsage counts the sizes of the distinct blobs a tenant's
// versions, bindings and staged uploads name, as the blobs table records
// them.
func testTenantBlobUsage(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	u := newUser(tn, "alice", driverhub.RoleDeveloper)
	d, od := newDriver(tn, "modbus"), newDriver(other, "modbus")
	i := edgeInstance(tn, "gw1")
	pkg, file, bound, mine, theirs := digest(), digest(), digest(), digest(), digest()
	v := newVersion(d, "1.0")
	v.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 100, SHA256: pkg}
	v.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "c.ini", Size: 10, SHA256: file}}
	v2 := newVersion(d, "1.1") // the same package again: counted once
	v2.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 100, SHA256: pkg}
	ov := newVersion(od, "1.0") // another tenant's, sharing the package
	ov.Package = &driverhub.PackageRef{Filename: "p.zip", Size: 100, SHA256: pkg}
	ov2 := newVersion(od, "1.1")
	ov2.Package = &driverhub.PackageRef{Filename: "q.zip", Size: 7, SHA256: theirs}
	b := edgeBinding(i, tn, d, "1.0")
	b.Config = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "b.ini", Size: 5, SHA256: bound}}
	up := newUpload(u, now().Add(time.Hour))
	up.SHA256 = mine
	create(t, s, tn, other, u, d, od, v, v2, ov, ov2, i, b)
	createUploads(t, s, up)
	t0 := now()
	for sha, size := range map[string]int64{pkg: 100, file: 10, bound: 5, mine: 20, theirs: 7} {
		claim(t, s, sha, size, t0, t0.Add(-time.Hour))
	}
	usage := func(id string) int64 {
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int64, error) { return tx.TenantBlobUsage(ctx, id) })
	}
	if got := usage(tn.ID); got != 135 {
		t.Errorf("TenantBlobUsage(acme) = %d, want 135 (package, config file, binding's file, staged upload)", got)
	}
	if got := usage(other.ID); got != 107 {
		t.Errorf("TenantBlobUsage(globex) = %d, want 107 (the shared package and its own)", got)
	}
	if got := usage(driverhub.NewID()); got != 0 {
		t.Errorf("TenantBlobUsage(unknown) = %d, want 0", got)
	}
	refers := func(id, sha string) bool {
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.TenantRefersToBlob(ctx, id, sha) })
	}
	for _, tc := range []struct {
		tenant, sha string
		want        bool
	}{{tn.ID, pkg, true}, {tn.ID, bound, true}, {tn.ID, mine, true}, {tn.ID, theirs, false}, {other.ID, mine, false}} {
		if got := refers(tc.tenant, tc.sha); got != tc.want {
			t.Errorf("TenantRefersToBlob(%s, %s) = %v, want %v", tc.tenant, tc.sha, got, tc.want)
		}
	}
}
