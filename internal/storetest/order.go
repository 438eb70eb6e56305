package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// testDeviceByteOrder lists devices whose products hold upper case and
// the punctuation that sorts below '/': every store orders them by product,
// then name, in byte order, whatever the database's collation.
func testDeviceByteOrder(t *testing.T, s driverhub.Store) {
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: now()}
	pairs := [][2]string{{"A", "z"}, {"B", "a"}, {"a", "z"}, {"a", "z-1"}, {"a-b", "a"}, {"a.b", "a"}, {"a:b", "a"}, {"a@b", "a"}, {"a_b", "a"}, {"ab", "a"}, {"b", "a"}}
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := len(pairs) - 1; k >= 0; k-- {
			p := pairs[k]
			d := &driverhub.Device{ID: driverhub.NewID(), TenantID: tn.ID, Product: p[0], Name: p[1], CreatedAt: now(), UpdatedAt: now()}
			if err := tx.CreateDevice(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range pairs {
		want = append(want, p[0]+"/"+p[1])
	}
	for _, limit := range []int{1, 3, 0} {
		var got []string
		p := driverhub.Page{Limit: limit}
		for {
			var l driverhub.List[*driverhub.Device]
			if err := s.View(ctx, func(tx driverhub.Tx) error {
				var err error
				l, err = tx.ListDevices(ctx, tn.ID, driverhub.DeviceFilter{}, p)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, d := range l.Items {
				got = append(got, d.Product+"/"+d.Name)
			}
			if l.NextCursor == "" {
				break
			}
			p.Cursor = l.NextCursor
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: devices (-want +got):\n%s", limit, diff)
		}
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
