package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// RunDeployments runs the cases of DeploymentTx. newStore returns a fresh,
// empty, migrated store for each call; every subtest runs in parallel on
// its own.
func RunDeployments(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	edgeRun(t, newStore, []edgeCase{
		{"Deployments", testDeployments},
		{"ListDeployments", testListDeployments},
		{"UpdateDeployment", testUpdateDeployment},
		{"UnfinishedDeployments", testUnfinishedDeployments},
		{"StartDeployment", testStartDeployment},
		{"FailStaleDeployments", testFailStaleDeployments},
		{"FailStaleConcurrently", testFailStaleConcurrently},
		{"InstanceCanFetchBlob", testInstanceCanFetchBlob},
	})
}

// edgeManifest returns a manifest with one driver per package digest; a
// digest given as "pkg+cfg" also names a config file.
func edgeManifest(blobs ...string) *driverhub.Manifest {
	m := &driverhub.Manifest{Type: driverhub.DeployTypeDeploy, Drivers: []driverhub.ManifestDriver{}}
	for k, b := range blobs {
		pkg, cfg, _ := strings.Cut(b, "+")
		md := driverhub.ManifestDriver{
			ID: driverhub.NewID(), Name: fmt.Sprintf("drv%d", k), Publisher: "acme", Version: "1.0.0",
			Runtime: driverhub.RuntimePython3, MinEdge: "1.0.0", Container: driverhub.DefaultContainer(),
			RuntimeConfig: driverhub.RuntimeConfig{
				DeviceList: []driverhub.RuntimeDevice{{ProductKey: "meter", DeviceName: "m1", Custom: `{"slave":1}`}},
				Config:     driverhub.RuntimeDriverConf{JSON: json.RawMessage(`{"host":"10.0.0.1"}`)},
			},
		}
		if pkg != "" {
			md.Package = &driverhub.BlobLink{SHA256: pkg, Size: 123, URL: "/api/v1/gateway/blobs/" + pkg}
		}
		if cfg != "" {
			md.ConfigFile = &driverhub.BlobLink{Name: "c.yaml", SHA256: cfg, Size: 7, URL: "/api/v1/gateway/blobs/" + cfg}
			md.RuntimeConfig.Config = driverhub.RuntimeDriverConf{FileList: []driverhub.RuntimeFile{{Path: "c.yaml"}}}
		}
		m.Drivers = append(m.Drivers, md)
	}
	return m
}

// edgeDeployment returns a deploy of i in the given status, with the
// fields a read fills in (the instance's name).
func edgeDeployment(i *driverhub.Instance, status driverhub.DeployStatus, m *driverhub.Manifest) *driverhub.Deployment {
	d := &driverhub.Deployment{
		ID: driverhub.NewID(), InstanceID: i.ID, Instance: i.Name, Type: driverhub.DeployTypeDeploy,
		Status: status, CreatedAt: now(), Manifest: m, Resources: []driverhub.Resource{},
	}
	if m != nil {
		m.DeploymentID = d.ID
	}
	return d
}

// edgeStarted marks d started (and, unless it is still going, finished) at the given time.
func edgeStarted(d *driverhub.Deployment, at time.Time) *driverhub.Deployment {
	d.StartedAt = &at
	if d.Finished() {
		end := at.Add(time.Second)
		d.FinishedAt = &end
	}
	return d
}

func edgeReadDeployment(t testing.TB, s driverhub.Store, d *driverhub.Deployment) *driverhub.Deployment {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Deployment, error) {
		return tx.DeploymentByID(ctx, d.InstanceID, d.ID)
	})
}

func testDeployments(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	i, i2 := edgeInstance(tn, "gw1"), edgeInstance(tn, "gw2")
	create(t, s, tn, i, i2)
	checkDeploymentsReadBack(t, s, i, i2)

	t.Run("duplicate id", func(t *testing.T) {
		d := edgeDeployment(i, driverhub.DeployPending, nil)
		create(t, s, d)
		again := *d
		edgeWantErr(t, s, "CreateDeployment", true, driverhub.ErrConflict, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.CreateDeployment(ctx, &again)
		})
	})

	checkDeploymentsAbsent(t, s, i, i2)

	t.Run("DeleteInstance deletes its deployments", func(t *testing.T) {
		i3 := edgeInstance(tn, "gw3")
		pkg := digest()
		d3 := edgeDeployment(i3, driverhub.DeploySucceeded, edgeManifest(pkg))
		create(t, s, i3, d3, edgeDeployment(i3, driverhub.DeployPending, nil))
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteInstance(ctx, i3.ID) })
		edgeWantErr(t, s, "DeploymentByID", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeploymentByID(ctx, i3.ID, d3.ID)
			return err
		})
		edgeWant(t, s, "InstanceCanFetchBlob", false, func(ctx context.Context, tx driverhub.Tx) (bool, error) {
			return tx.InstanceCanFetchBlob(ctx, i3.ID, pkg)
		})
	})
}

// checkDeploymentsReadBack stores deployments of every shape on i and i2,
// each in its own subtest, and reads each back whole and as its progress.
func checkDeploymentsReadBack(t *testing.T, s driverhub.Store, i, i2 *driverhub.Instance) {
	shared := digest()
	reset := edgeDeployment(i, driverhub.DeployPending, &driverhub.Manifest{Type: driverhub.DeployTypeReset, Drivers: []driverhub.ManifestDriver{}})
	reset.Type = driverhub.DeployTypeReset
	for _, tc := range []struct {
		name string
		in   *driverhub.Deployment
	}{
		{"pending deploy", edgeDeployment(i, driverhub.DeployPending, edgeManifest(digest(), digest()+"+"+digest(), shared, shared))},
		{"builtin driver without package", edgeDeployment(i, driverhub.DeployPending, edgeManifest(""))},
		{"reset", reset},
		{"no manifest", edgeDeployment(i2, driverhub.DeployClosed, nil)},
		{"finished with resources", edgeStarted(func() *driverhub.Deployment {
			d := edgeDeployment(i2, driverhub.DeployFailed, edgeManifest(digest()))
			d.Reason = "deploy timeout"
			d.Resources = []driverhub.Resource{{Type: driverhub.ResourceDriver, Name: "drv0", Stage: driverhub.StageStart, Status: driverhub.DeployFailed,
				Log: []driverhub.LogEntry{{Time: now(), Level: "error", Stage: driverhub.StageStart, Message: "exit status 1 — 失败"}}}}
			return d
		}(), now().Add(-time.Minute))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.in
			in := *want
			in.Instance = "ignored" // filled by reads
			create(t, s, &in)
			if diff := cmp.Diff(want, edgeReadDeployment(t, s, want)); diff != "" {
				t.Errorf("DeploymentByID (-want +got):\n%s", diff)
			}
			progress := *want
			progress.Manifest = nil
			edgeWant(t, s, "DeploymentProgress", &progress, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Deployment, error) {
				return tx.DeploymentProgress(ctx, want.InstanceID, want.ID)
			})
		})
	}
}

// checkDeploymentsAbsent reads and updates a deployment that is not there,
// or not on the instance asked, each in an "absent …" subtest.
func checkDeploymentsAbsent(t *testing.T, s driverhub.Store, i, i2 *driverhub.Instance) {
	d := edgeDeployment(i, driverhub.DeployPending, nil)
	create(t, s, d)
	ghost := *d
	ghost.ID = driverhub.NewID()
	for _, tc := range []absentCase{
		{"DeploymentByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeploymentByID(ctx, i.ID, ghost.ID)
			return err
		}},
		{"DeploymentProgress", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeploymentProgress(ctx, i.ID, ghost.ID)
			return err
		}},
		{"DeploymentProgress of another instance", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeploymentProgress(ctx, i2.ID, d.ID)
			return err
		}},
		{"DeploymentByID of another instance", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeploymentByID(ctx, i2.ID, d.ID)
			return err
		}},
		{"UpdateDeployment", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDeployment(ctx, &ghost) }},
	} {
		t.Run("absent "+tc.name, func(t *testing.T) { edgeWantErr(t, s, tc.name, tc.write, driverhub.ErrNotFound, tc.fn) })
	}
}

func testListDeployments(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	i, i2 := edgeInstance(tn, "gw1"), edgeInstance(tn, "gw2")
	items := []any{tn, i, i2}
	var want []*driverhub.Deployment
	for k := range 7 {
		d := edgeDeployment(i, driverhub.DeploySuperseded, edgeManifest(digest()))
		d.Resources = []driverhub.Resource{{Type: driverhub.ResourceDriver, Name: fmt.Sprint("drv", k), Stage: driverhub.StageInit, Status: driverhub.DeployPending, Log: []driverhub.LogEntry{}}}
		items = append(items, d, edgeDeployment(i2, driverhub.DeployPending, edgeManifest(digest())))
		w := *d
		w.Manifest = nil // lists leave manifests out
		want = append(want, &w)
	}
	create(t, s, items...)
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 7, 0} {
		pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
			var l driverhub.List[*driverhub.Deployment]
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				var err error
				l, err = tx.ListDeployments(ctx, i.ID, p)
				return err
			})
			return l, err
		})
		if diff := cmp.Diff(want, flatten(pages)); diff != "" {
			t.Errorf("limit %d: deployments of all pages, newest first (-want +got):\n%s", limit, diff)
		}
	}
	edgeWant(t, s, "ListDeployments of an unknown instance", driverhub.List[*driverhub.Deployment]{Items: []*driverhub.Deployment{}},
		func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Deployment], error) {
			return tx.ListDeployments(ctx, driverhub.NewID(), driverhub.Page{})
		})
	err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.ListDeployments(ctx, i.ID, driverhub.Page{Limit: driverhub.MaxPageLimit + 1})
		return err
	})
	wantInvalid(t, "ListDeployments with limit 501", err, "limit")
}

func testUpdateDeployment(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	i := edgeInstance(tn, "gw1")
	d, bystander := edgeDeployment(i, driverhub.DeployPending, edgeManifest(digest())), edgeDeployment(i, driverhub.DeployPending, nil)
	create(t, s, tn, i, d, bystander)

	started := now().Add(-time.Minute)
	want := *d
	want.Status, want.StartedAt = driverhub.DeployProcessing, &started
	logAt := started.Add(time.Second)
	want.Resources = []driverhub.Resource{
		{Type: driverhub.ResourceDriver, Name: "drv0", Stage: driverhub.StageDownload, Status: driverhub.DeployProcessing, Log: []driverhub.LogEntry{
			{Time: logAt, Level: "info", Stage: driverhub.StageInit, Message: "queued"},
			{Time: logAt.Add(time.Millisecond), Level: "info", Stage: driverhub.StageDownload, Message: "downloading 123 bytes"},
		}},
		{Type: driverhub.ResourceDriverConfig, Name: "drv0", Stage: driverhub.StageInit, Status: driverhub.DeployPending, Log: []driverhub.LogEntry{}},
	}
	in := want
	in.Type, in.CreatedAt, in.Manifest = driverhub.DeployTypeReset, time.Time{}, nil // not written
	// Times inside resources are kept as every other time: UTC, microseconds.
	in.Resources = slices.Clone(want.Resources)
	in.Resources[0].Log = slices.Clone(want.Resources[0].Log)
	in.Resources[0].Log[0].Time = logAt.In(time.FixedZone("CST", 8*3600)).Add(999 * time.Nanosecond)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDeployment(ctx, &in) })
	if diff := cmp.Diff(&want, edgeReadDeployment(t, s, d)); diff != "" {
		t.Errorf("after starting (-want +got):\n%s", diff)
	}
	if in.Resources[0].Log[0].Time.Nanosecond()%1000 != 999 {
		t.Errorf("UpdateDeployment changed the caller's resources")
	}

	finished := now()
	want.Status, want.Reason, want.FinishedAt = driverhub.DeployFailed, "driver drv0 crashed", &finished
	want.Resources = nil
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDeployment(ctx, &want) })
	if diff := cmp.Diff(&want, edgeReadDeployment(t, s, d)); diff != "" {
		t.Errorf("after failing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bystander, edgeReadDeployment(t, s, bystander)); diff != "" {
		t.Errorf("another deployment (-want +got):\n%s", diff)
	}
}

func testUnfinishedDeployments(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	i, i2 := edgeInstance(tn, "gw1"), edgeInstance(tn, "gw2")
	at := now().Add(-time.Hour)
	// Ids are made in this order, the newest last.
	processing := edgeStarted(edgeDeployment(i, driverhub.DeployProcessing, edgeManifest(digest())), at)
	pending := edgeDeployment(i, driverhub.DeployPending, edgeManifest(digest()))
	pending2 := edgeDeployment(i2, driverhub.DeployPending, nil)
	items := []any{tn, i, i2, edgeStarted(edgeDeployment(i, driverhub.DeploySucceeded, nil), at), processing,
		edgeStarted(edgeDeployment(i, driverhub.DeployFailed, nil), at), edgeDeployment(i, driverhub.DeploySuperseded, nil),
		edgeDeployment(i, driverhub.DeployClosed, nil), pending, pending2}
	create(t, s, items...)
	// Listed without their manifests.
	noManifest := func(d *driverhub.Deployment) *driverhub.Deployment { c := *d; c.Manifest = nil; return &c }
	edgeWant(t, s, "UnfinishedDeployments, newest first", []*driverhub.Deployment{noManifest(pending), noManifest(processing)},
		func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Deployment, error) {
			return tx.UnfinishedDeployments(ctx, i.ID)
		})
	edgeWant(t, s, "UnfinishedDeployments of an unknown instance", []*driverhub.Deployment{},
		func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Deployment, error) {
			return tx.UnfinishedDeployments(ctx, driverhub.NewID())
		})
	ids := manyIDs(450, map[int]string{5: i.ID, 300: i2.ID})
	edgeWant(t, s, "UnfinishedDeploymentsOf, more instances than one statement takes",
		[]*driverhub.Deployment{noManifest(pending), noManifest(processing), noManifest(pending2)},
		func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Deployment, error) {
			return tx.UnfinishedDeploymentsOf(ctx, ids)
		})
}

// StartDeployment moves a pending deployment, and only a pending one of
// the instance named, to processing; the rest of it stays as it was.
func testStartDeployment(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	i, i2 := edgeInstance(tn, "gw1"), edgeInstance(tn, "gw2")
	pending := edgeDeployment(i, driverhub.DeployPending, edgeManifest(digest()))
	done := edgeStarted(edgeDeployment(i, driverhub.DeploySucceeded, nil), now().Add(-time.Hour))
	create(t, s, tn, i, i2, pending, done)
	at := now().Add(time.Minute)
	start := func(instanceID string, d *driverhub.Deployment) bool {
		var ok bool
		update(t, s, func(ctx context.Context, tx driverhub.Tx) (err error) {
			ok, err = tx.StartDeployment(ctx, instanceID, d.ID, at)
			return err
		})
		return ok
	}
	if start(i2.ID, pending) {
		t.Errorf("StartDeployment started a deployment through another instance")
	}
	if start(i.ID, done) {
		t.Errorf("StartDeployment started a finished deployment")
	}
	if !start(i.ID, pending) {
		t.Fatalf("StartDeployment did not start a pending deployment")
	}
	want := *pending
	want.Status, want.StartedAt = driverhub.DeployProcessing, &at
	if diff := cmp.Diff(&want, edgeReadDeployment(t, s, pending)); diff != "" {
		t.Errorf("after StartDeployment (-want +got):\n%s", diff)
	}
	if start(i.ID, pending) {
		t.Errorf("StartDeployment started a processing deployment again")
	}
	if diff := cmp.Diff(done, edgeReadDeployment(t, s, done)); diff != "" {
		t.Errorf("a finished deployment (-want +got):\n%s", diff)
	}
}

func testFailStaleDeployments(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	a, b, c := edgeInstance(tn, "gw-a"), edgeInstance(tn, "gw-b"), edgeInstance(tn, "gw-c")
	at := now()
	cutoff := at.Add(-10 * time.Minute)
	stale := []*driverhub.Deployment{
		edgeStarted(edgeDeployment(a, driverhub.DeployProcessing, nil), cutoff.Add(-time.Hour)),
		edgeStarted(edgeDeployment(a, driverhub.DeployProcessing, nil), cutoff.Add(-time.Microsecond)),
		edgeStarted(edgeDeployment(b, driverhub.DeployProcessing, edgeManifest(digest())), cutoff.Add(-time.Minute)),
	}
	kept := []*driverhub.Deployment{
		edgeStarted(edgeDeployment(c, driverhub.DeployProcessing, nil), cutoff), // not before the cutoff
		edgeStarted(edgeDeployment(c, driverhub.DeployProcessing, nil), at.Add(-time.Minute)),
		edgeDeployment(c, driverhub.DeployPending, nil),
		edgeStarted(edgeDeployment(c, driverhub.DeploySucceeded, nil), cutoff.Add(-time.Hour)),
		edgeStarted(edgeDeployment(c, driverhub.DeployClosed, nil), cutoff.Add(-time.Hour)),
		edgeStarted(edgeDeployment(b, driverhub.DeployFailed, nil), cutoff.Add(-time.Hour)),
	}
	items := []any{tn, a, b, c}
	for _, d := range append(slices.Clone(kept), stale...) {
		items = append(items, d)
	}
	create(t, s, items...)

	fail := func() []string {
		var ids []string
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			var err error
			ids, err = tx.FailStaleDeployments(ctx, cutoff, at, "no report within 10m0s")
			return err
		})
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	wantIDs := []string{a.ID, b.ID}
	slices.Sort(wantIDs)
	if diff := cmp.Diff(wantIDs, fail()); diff != "" {
		t.Errorf("first FailStaleDeployments: instances (-want +got):\n%s", diff)
	}
	for _, d := range stale {
		want := *d
		want.Status, want.Reason, want.FinishedAt = driverhub.DeployFailed, "no report within 10m0s", &at
		if diff := cmp.Diff(&want, edgeReadDeployment(t, s, d)); diff != "" {
			t.Errorf("stale deployment after FailStaleDeployments (-want +got):\n%s", diff)
		}
	}
	for _, d := range kept {
		if diff := cmp.Diff(d, edgeReadDeployment(t, s, d)); diff != "" {
			t.Errorf("%s deployment changed by FailStaleDeployments (-want +got):\n%s", d.Status, diff)
		}
	}
	if got := fail(); len(got) != 0 {
		t.Errorf("second FailStaleDeployments failed deployments of %v, want none", got)
	}
}

func testInstanceCanFetchBlob(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	i, i2, oi := edgeInstance(tn, "gw1"), edgeInstance(tn, "gw2"), edgeInstance(other, "gw1")
	pkg, cfg, pkg2, old, never := digest(), digest(), digest(), digest(), digest()
	create(t, s, tn, other, i, i2, oi,
		edgeStarted(edgeDeployment(i, driverhub.DeploySucceeded, edgeManifest(old)), now().Add(-time.Hour)),
		edgeDeployment(i, driverhub.DeployPending, edgeManifest(pkg+"+"+cfg, "")),
		edgeDeployment(i2, driverhub.DeployPending, edgeManifest(pkg2)),
		edgeDeployment(oi, driverhub.DeployPending, nil))
	for _, tc := range []struct {
		name     string
		instance *driverhub.Instance
		sha      string
		want     bool
	}{
		{"package of its deployment", i, pkg, true},
		{"config file of its deployment", i, cfg, true},
		{"package of an older deployment", i, old, true},
		{"package of another instance's deployment", i, pkg2, false},
		{"its package from another instance", i2, pkg, false},
		{"its package from another tenant's instance", oi, pkg, false},
		{"digest no deployment names", i, never, false},
		{"empty digest", i, "", false},
		{"unknown instance", &driverhub.Instance{ID: driverhub.NewID()}, pkg, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edgeWant(t, s, "InstanceCanFetchBlob", tc.want, func(ctx context.Context, tx driverhub.Tx) (bool, error) {
				return tx.InstanceCanFetchBlob(ctx, tc.instance.ID, tc.sha)
			})
		})
	}
}

// testFailStaleConcurrently fails stale deployments from many
// goroutines at once, as replicas would: each deployment's instance is
// reported exactly once.
func testFailStaleConcurrently(t *testing.T, s driverhub.Store) {
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: now()}
	started := now().Add(-time.Hour)
	const n = 20
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := range n {
			i := &driverhub.Instance{ID: driverhub.NewID(), TenantID: tn.ID, Name: "gw" + driverhub.NewID()[30:],
				SecretHash: driverhub.NewSecret("", 32), CreatedAt: now(), UpdatedAt: now()}
			if err := tx.CreateInstance(ctx, i); err != nil {
				return err
			}
			d := &driverhub.Deployment{ID: driverhub.NewID(), InstanceID: i.ID, Type: driverhub.DeployTypeDeploy,
				Status: driverhub.DeployProcessing, CreatedAt: now(), StartedAt: &started}
			if k%4 == 3 {
				d.Status = driverhub.DeployPending
				d.StartedAt = nil
			}
			if err := tx.CreateDeployment(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []string, 8)
	for range cap(results) {
		go func() {
			var ids []string
			err := s.Update(context.WithoutCancel(ctx), func(tx driverhub.Tx) error {
				var err error
				ids, err = tx.FailStaleDeployments(ctx, now(), now(), "timeout")
				return err
			})
			if err != nil {
				t.Error(err)
			}
			results <- ids
		}()
	}
	seen := map[string]int{}
	for range cap(results) {
		for _, id := range <-results {
			seen[id]++
		}
	}
	if len(seen) != n-n/4 {
		t.Errorf("%d instances reported, want %d", len(seen), n-n/4)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("instance %s reported %d times", id, c)
		}
	}
}
