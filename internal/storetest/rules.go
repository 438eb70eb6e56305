package storetest

import (
	"context"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// testNotFound looks up, updates and deletes what is not there, next to
// rows that are.
func testNotFound(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleAdmin)
	k := newToken(u, "ci")
	d := newDriver(tn, "modbus")
	v := newVersion(d, "1.0.0")
	create(t, s, tn, u, k, d, v)
	missing := driverhub.NewID()

	for _, tc := range append(absentAccountCases(tn, u, missing), absentDriverCases(tn, d, v, missing)...) {
		t.Run(tc.name, func(t *testing.T) {
			run := viewErr
			if tc.write {
				run = updateErr
			}
			wantIs(t, tc.name, run(t, s, tc.fn), driverhub.ErrNotFound)
		})
	}

	t.Run("existing rows unchanged", func(t *testing.T) {
		if diff := cmp.Diff(u, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
			return tx.UserByID(ctx, u.ID)
		})); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(k, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Token, error) {
			return tx.TokenByID(ctx, tn.ID, k.ID)
		})); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(d, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
			return tx.DriverByID(ctx, d.ID)
		})); diff != "" {
			t.Errorf("driver (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(v, getVersion(t, s, d.ID, v.Version)); diff != "" {
			t.Errorf("version (-want +got):\n%s", diff)
		}
	})
}

// absentAccountCases look up, update and delete tenants, users and tokens
// that are not there; u is a user of tn.
func absentAccountCases(tn *driverhub.Tenant, u *driverhub.User, missing string) []absentCase {
	ghostUser := *u
	ghostUser.ID = missing
	return []absentCase{
		{"TenantByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TenantByName(ctx, "globex")
			return err
		}},
		{"TenantByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TenantByID(ctx, missing)
			return err
		}},
		{"UserByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UserByName(ctx, tn.ID, "bob")
			return err
		}},
		{"UserByName of unknown tenant", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UserByName(ctx, missing, u.Username)
			return err
		}},
		{"UserByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UserByID(ctx, missing)
			return err
		}},
		{"UpdateUser", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateUser(ctx, &ghostUser) }},
		{"DeleteUser", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUser(ctx, missing) }},
		{"TokenByHash", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TokenByHash(ctx, digest())
			return err
		}},
		{"TokenByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TokenByID(ctx, tn.ID, missing)
			return err
		}},
		{"DeleteToken", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteToken(ctx, missing) }},
	}
}

// absentDriverCases look up, update and delete drivers and versions that
// are not there; d is a driver of tn and v a version of d.
func absentDriverCases(tn *driverhub.Tenant, d *driverhub.Driver, v *driverhub.DriverVersion, missing string) []absentCase {
	ghostDriver, ghostVersion := *d, *v
	ghostDriver.ID, ghostVersion.ID = missing, missing
	return []absentCase{
		{"DriverByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DriverByName(ctx, tn.ID, "opcua")
			return err
		}},
		{"DriverByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DriverByID(ctx, missing)
			return err
		}},
		{"UpdateDriver", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDriver(ctx, &ghostDriver) }},
		{"DeleteDriver", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteDriver(ctx, missing) }},
		{"VersionByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.VersionByName(ctx, d.ID, "2.0.0")
			return err
		}},
		{"VersionByName of unknown driver", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.VersionByName(ctx, missing, v.Version)
			return err
		}},
		{"UpdateVersion", true, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.UpdateVersion(ctx, &ghostVersion)
		}},
		{"DeleteVersion", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteVersion(ctx, missing) }},
		{"LatestPublished", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.LatestPublished(ctx, d.ID)
			return err
		}},
		{"LatestPublished of unknown driver", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.LatestPublished(ctx, missing)
			return err
		}},
	}
}

// testConflict inserts rows that break, or nearly break, a uniqueness
// rule. Each insert runs in its own Update: after a conflict some
// databases refuse every further statement of the transaction.
func testConflict(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	alice, bob := newUser(a, "alice", driverhub.RoleAdmin), newUser(b, "bob", driverhub.RoleAdmin)
	k := newToken(alice, "ci")
	d, d2 := newDriver(a, "modbus"), newDriver(a, "opcua")
	v := newVersion(d, "1.0.0")
	create(t, s, a, b, alice, bob, k, d, d2, v)

	sameHash := func(u *driverhub.User) *driverhub.Token {
		t := newToken(u, "copy")
		t.Hash = k.Hash
		return t
	}
	for _, tc := range []struct {
		name     string
		item     any
		conflict bool
	}{
		{"tenant name", newTenant(a.Name), true},
		{"username in the same tenant", newUser(a, alice.Username, driverhub.RoleViewer), true},
		{"username in another tenant", newUser(b, alice.Username, driverhub.RoleViewer), false},
		{"token hash of the same user", sameHash(alice), true},
		{"token hash in another tenant", sameHash(bob), true},
		{"token name of the same user", newToken(alice, k.Name), false},
		{"driver name in the same tenant", newDriver(a, d.Name), true},
		{"driver name in another tenant", newDriver(b, d.Name), false},
		{"version of the same driver", newVersion(d, v.Version), true},
		{"version of another driver", newVersion(d2, v.Version), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return insert(ctx, tx, tc.item) })
			switch {
			case tc.conflict:
				wantIs(t, "create", err, driverhub.ErrConflict)
			case err != nil:
				t.Errorf("create: %v", err)
			}
		})
	}

	t.Run("originals unchanged", func(t *testing.T) {
		if diff := cmp.Diff(a, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Tenant, error) {
			return tx.TenantByName(ctx, a.Name)
		})); diff != "" {
			t.Errorf("tenant (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(alice, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
			return tx.UserByName(ctx, a.ID, alice.Username)
		})); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(k, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Token, error) {
			return tx.TokenByHash(ctx, k.Hash)
		})); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(d, fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
			return tx.DriverByName(ctx, a.ID, d.Name)
		})); diff != "" {
			t.Errorf("driver (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(v, getVersion(t, s, d.ID, v.Version)); diff != "" {
			t.Errorf("version (-want +got):\n%s", diff)
		}
		if n := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.CountTenants(ctx) }); n != 2 {
			t.Errorf("CountTenants = %d, want 2", n)
		}
	})
}

// testTenantScope looks up one tenant's rows through another tenant.
func testTenantScope(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	alice, bob := newUser(a, "alice", driverhub.RoleAdmin), newUser(b, "bob", driverhub.RoleAdmin)
	k := newToken(alice, "ci")
	d, bd := newDriver(a, "modbus"), newDriver(b, "opcua")
	create(t, s, a, b, alice, bob, k, d, bd)

	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context, tx driverhub.Tx, tenantID string) error
	}{
		{"DriverByName", func(ctx context.Context, tx driverhub.Tx, tenantID string) error {
			_, err := tx.DriverByName(ctx, tenantID, d.Name)
			return err
		}},
		{"UserByName", func(ctx context.Context, tx driverhub.Tx, tenantID string) error {
			_, err := tx.UserByName(ctx, tenantID, alice.Username)
			return err
		}},
		{"TokenByID", func(ctx context.Context, tx driverhub.Tx, tenantID string) error {
			_, err := tx.TokenByID(ctx, tenantID, k.ID)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tc.fn(ctx, tx, a.ID) })
			if err != nil {
				t.Fatalf("in its own tenant: %v", err)
			}
			err = viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tc.fn(ctx, tx, b.ID) })
			wantIs(t, "in another tenant", err, driverhub.ErrNotFound)
		})
	}

	for _, tc := range []struct {
		name string
		list func(ctx context.Context, tx driverhub.Tx, tenantID string) (driverhub.List[any], error)
		want []any
	}{
		{"ListUsers", func(ctx context.Context, tx driverhub.Tx, tenantID string) (driverhub.List[any], error) {
			return anyList(tx.ListUsers(ctx, tenantID, driverhub.Page{}))
		}, []any{bob}},
		{"ListTokens", func(ctx context.Context, tx driverhub.Tx, tenantID string) (driverhub.List[any], error) {
			return anyList(tx.ListTokens(ctx, tenantID, "", driverhub.Page{}))
		}, []any{}},
		{"ListDrivers", func(ctx context.Context, tx driverhub.Tx, tenantID string) (driverhub.List[any], error) {
			return anyList(tx.ListDrivers(ctx, tenantID, driverhub.DriverFilter{}, driverhub.Page{}))
		}, []any{bd}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[any], error) {
				return tc.list(ctx, tx, b.ID)
			})
			if diff := cmp.Diff(driverhub.List[any]{Items: tc.want}, got); diff != "" {
				t.Errorf("list of the other tenant (-want +got):\n%s", diff)
			}
		})
	}
}
