package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/sqlite"
	"github.com/driverhub/driverhub/internal/storetest"
	"github.com/google/go-cmp/cmp"
)

// openEdgeStore opens a fresh database in the test's temporary directory
// and closes it when the test ends.
func openEdgeStore(t testing.TB) driverhub.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStoreInstances(t *testing.T)   { storetest.RunInstances(t, openEdgeStore) }
func TestStoreDeployments(t *testing.T) { storetest.RunDeployments(t, openEdgeStore) }
func TestStoreMarket(t *testing.T)      { storetest.RunMarket(t, openEdgeStore) }

// TestDeviceOrderWithPunctuation lists devices whose products hold the
// characters that sort below '/' in byte order ('-' and '.'): the order is
// by product, then name, under SQLite's byte order. (The shared suite
// keeps to letters and digits, whose order no collation changes.)
func TestDeviceOrderWithPunctuation(t *testing.T) {
	s := openEdgeStore(t)
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}
	var want []string
	pairs := [][2]string{{"a", "z"}, {"a", "z-1"}, {"a-b", "a"}, {"a.b", "a"}, {"a:b", "a"}, {"a@b", "a"}, {"a_b", "a"}, {"ab", "a"}}
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := len(pairs) - 1; k >= 0; k-- {
			p := pairs[k]
			d := &driverhub.Device{ID: driverhub.NewID(), TenantID: tn.ID, Product: p[0], Name: p[1], CreatedAt: storeNow(), UpdatedAt: storeNow()}
			if err := tx.CreateDevice(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		want = append(want, p[0]+"/"+p[1])
	}
	// pairs is in (product, name) byte order already.
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

// TestFailStaleDeploymentsConcurrently fails stale deployments from many
// goroutines at once, as replicas would: each deployment's instance is
// reported exactly once.
func TestFailStaleDeploymentsConcurrently(t *testing.T) {
	s := openEdgeStore(t)
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}
	started := storeNow().Add(-time.Hour)
	const n = 20
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := range n {
			i := &driverhub.Instance{ID: driverhub.NewID(), TenantID: tn.ID, Name: "gw" + driverhub.NewID()[30:],
				SecretHash: driverhub.NewSecret("", 32), CreatedAt: storeNow(), UpdatedAt: storeNow()}
			if err := tx.CreateInstance(ctx, i); err != nil {
				return err
			}
			d := &driverhub.Deployment{ID: driverhub.NewID(), InstanceID: i.ID, Type: driverhub.DeployTypeDeploy,
				Status: driverhub.DeployProcessing, CreatedAt: storeNow(), StartedAt: &started}
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
				ids, err = tx.FailStaleDeployments(ctx, storeNow(), storeNow(), "timeout")
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
