package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

func testTenants(t *testing.T, s driverhub.Store) {
	countTenants := func(t *testing.T) int {
		t.Helper()
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.CountTenants(ctx) })
	}
	if n := countTenants(t); n != 0 {
		t.Fatalf("CountTenants of an empty store = %d, want 0", n)
	}
	tenants := []*driverhub.Tenant{newTenant("acme"), newTenant("globex-2"), newTenant("0")}
	for i, want := range tenants {
		t.Run(want.Name, func(t *testing.T) {
			create(t, s, want)
			byName := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Tenant, error) {
				return tx.TenantByName(ctx, want.Name)
			})
			if diff := cmp.Diff(want, byName); diff != "" {
				t.Errorf("TenantByName(%q) (-want +got):\n%s", want.Name, diff)
			}
			byID := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Tenant, error) {
				return tx.TenantByID(ctx, want.ID)
			})
			if diff := cmp.Diff(want, byID); diff != "" {
				t.Errorf("TenantByID (-want +got):\n%s", diff)
			}
			if n := countTenants(t); n != i+1 {
				t.Errorf("CountTenants = %d, want %d", n, i+1)
			}
		})
	}
}

func testUsers(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	create(t, s, tn, other)
	admin := newUser(tn, "alice", driverhub.RoleAdmin)
	admin.SystemAdmin = true
	for _, tc := range []struct {
		name string
		user *driverhub.User
	}{
		{"system admin", admin},
		{"developer", newUser(tn, "bob@example.com", driverhub.RoleDeveloper)},
		{"viewer", newUser(tn, "Carol.d-e_f", driverhub.RoleViewer)},
		{"other tenant", newUser(other, "dave", driverhub.RoleAdmin)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.user
			create(t, s, want)
			byName := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
				return tx.UserByName(ctx, want.TenantID, want.Username)
			})
			if diff := cmp.Diff(want, byName); diff != "" {
				t.Errorf("UserByName(%q) (-want +got):\n%s", want.Username, diff)
			}
			byID := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
				return tx.UserByID(ctx, want.ID)
			})
			if diff := cmp.Diff(want, byID); diff != "" {
				t.Errorf("UserByID (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("UpdateUser", func(t *testing.T) {
		u, bystander := newUser(tn, "erin", driverhub.RoleAdmin), newUser(tn, "frank", driverhub.RoleAdmin)
		create(t, s, u, bystander)
		want := *u
		want.Role = driverhub.RoleViewer
		want.SystemAdmin = true
		want.PasswordHash = "$2a$10$changed"
		want.UpdatedAt = u.UpdatedAt.Add(90 * time.Minute)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateUser(ctx, &want) })
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) { return tx.UserByID(ctx, u.ID) })
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("after UpdateUser (-want +got):\n%s", diff)
		}
		got = fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
			return tx.UserByID(ctx, bystander.ID)
		})
		if diff := cmp.Diff(bystander, got); diff != "" {
			t.Errorf("another user changed by UpdateUser (-want +got):\n%s", diff)
		}
	})

	t.Run("DeleteUser", func(t *testing.T) {
		u, bystander := newUser(tn, "grace", driverhub.RoleDeveloper), newUser(tn, "heidi", driverhub.RoleDeveloper)
		create(t, s, u, bystander)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUser(ctx, u.ID) })
		wantIs(t, "UserByID after DeleteUser", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UserByID(ctx, u.ID)
			return err
		}), driverhub.ErrNotFound)
		wantIs(t, "UserByName after DeleteUser", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.UserByName(ctx, tn.ID, u.Username)
			return err
		}), driverhub.ErrNotFound)
		wantIs(t, "DeleteUser twice", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.DeleteUser(ctx, u.ID)
		}), driverhub.ErrNotFound)
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.User, error) {
			return tx.UserByID(ctx, bystander.ID)
		})
		if diff := cmp.Diff(bystander, got); diff != "" {
			t.Errorf("another user changed by DeleteUser (-want +got):\n%s", diff)
		}
	})
}

func testCountAdmins(t *testing.T, s driverhub.Store) {
	a, b, c, empty := newTenant("a"), newTenant("b"), newTenant("c"), newTenant("empty")
	alice, bob := newUser(a, "alice", driverhub.RoleAdmin), newUser(a, "bob", driverhub.RoleAdmin)
	bob.SystemAdmin = true
	sysDev := newUser(c, "frank", driverhub.RoleDeveloper)
	sysDev.SystemAdmin = true // a system admin without the admin role is no tenant admin
	create(t, s, a, b, c, empty, alice, bob,
		newUser(a, "carol", driverhub.RoleDeveloper), newUser(a, "dave", driverhub.RoleViewer),
		newUser(b, "erin", driverhub.RoleAdmin), sysDev)

	check := func(t *testing.T, tenantID string, want int) {
		t.Helper()
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.CountAdmins(ctx, tenantID) })
		if got != want {
			t.Errorf("CountAdmins = %d, want %d", got, want)
		}
	}
	for _, tc := range []struct {
		name     string
		tenantID string
		want     int
	}{
		{"two admins", a.ID, 2},
		{"one admin", b.ID, 1},
		{"developer only", c.ID, 0},
		{"no users", empty.ID, 0},
		{"unknown tenant", driverhub.NewID(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.tenantID, tc.want) })
	}

	t.Run("after demotion", func(t *testing.T) {
		demoted := *bob
		demoted.Role = driverhub.RoleDeveloper
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateUser(ctx, &demoted) })
		check(t, a.ID, 1)
	})
	t.Run("after deletion", func(t *testing.T) {
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUser(ctx, alice.ID) })
		check(t, a.ID, 0)
		check(t, b.ID, 1)
	})
}

func testTokens(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	alice, bob := newUser(tn, "alice", driverhub.RoleAdmin), newUser(tn, "bob", driverhub.RoleViewer)
	carol := newUser(other, "carol", driverhub.RoleDeveloper)
	create(t, s, tn, other, alice, bob, carol)

	for _, tc := range []struct {
		name  string
		token *driverhub.Token
	}{
		{"admin", newToken(alice, "ci")},
		{"lesser role than its user", func() *driverhub.Token {
			k := newToken(alice, "read only")
			k.Role = driverhub.RoleViewer
			return k
		}()},
		{"viewer", newToken(bob, "部署 token")},
		{"other tenant", newToken(carol, "ci")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The secret is shown once, in the answer to the creation; it is never stored.
			created := *tc.token
			created.Token = "dht_" + driverhub.NewSecret("", 16)
			create(t, s, &created)
			want := tc.token
			byHash := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Token, error) {
				return tx.TokenByHash(ctx, want.Hash)
			})
			if diff := cmp.Diff(want, byHash); diff != "" {
				t.Errorf("TokenByHash (-want +got):\n%s", diff)
			}
			byID := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Token, error) {
				return tx.TokenByID(ctx, want.TenantID, want.ID)
			})
			if diff := cmp.Diff(want, byID); diff != "" {
				t.Errorf("TokenByID (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("DeleteToken", func(t *testing.T) {
		k, bystander := newToken(alice, "doomed"), newToken(alice, "kept")
		create(t, s, k, bystander)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteToken(ctx, k.ID) })
		wantIs(t, "TokenByHash after DeleteToken", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TokenByHash(ctx, k.Hash)
			return err
		}), driverhub.ErrNotFound)
		wantIs(t, "TokenByID after DeleteToken", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.TokenByID(ctx, tn.ID, k.ID)
			return err
		}), driverhub.ErrNotFound)
		wantIs(t, "DeleteToken twice", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.DeleteToken(ctx, k.ID)
		}), driverhub.ErrNotFound)
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Token, error) {
			return tx.TokenByHash(ctx, bystander.Hash)
		})
		if diff := cmp.Diff(bystander, got); diff != "" {
			t.Errorf("another token changed by DeleteToken (-want +got):\n%s", diff)
		}
	})
}

func testDeleteTokensOfUser(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	alice, bob := newUser(tn, "alice", driverhub.RoleAdmin), newUser(tn, "bob", driverhub.RoleDeveloper)
	carol := newUser(other, "carol", driverhub.RoleAdmin)
	a1, a2, b1, c1 := newToken(alice, "a1"), newToken(alice, "a2"), newToken(bob, "b1"), newToken(carol, "c1")
	create(t, s, tn, other, alice, bob, carol, a1, b1, a2, c1)

	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteTokensOfUser(ctx, alice.ID) })

	for _, tc := range []struct {
		name    string
		token   *driverhub.Token
		deleted bool
	}{
		{"first of the user", a1, true},
		{"second of the user", a2, true},
		{"other user", b1, false},
		{"other tenant", c1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *driverhub.Token
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				var err error
				got, err = tx.TokenByHash(ctx, tc.token.Hash)
				return err
			})
			if tc.deleted {
				wantIs(t, "TokenByHash", err, driverhub.ErrNotFound)
				return
			}
			if err != nil {
				t.Fatalf("TokenByHash: %v", err)
			}
			if diff := cmp.Diff(tc.token, got); diff != "" {
				t.Errorf("TokenByHash (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("ListTokens", func(t *testing.T) {
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Token], error) {
			return tx.ListTokens(ctx, tn.ID, "", driverhub.Page{})
		})
		want := driverhub.List[*driverhub.Token]{Items: []*driverhub.Token{b1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListTokens (-want +got):\n%s", diff)
		}
	})
	t.Run("ListTokens of one user", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			user string
			want []*driverhub.Token
		}{{"bob", bob.ID, []*driverhub.Token{b1}}, {"alice", alice.ID, []*driverhub.Token{}}, {"carol of another tenant", carol.ID, []*driverhub.Token{}}} {
			got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Token], error) {
				return tx.ListTokens(ctx, tn.ID, tc.user, driverhub.Page{})
			})
			if diff := cmp.Diff(driverhub.List[*driverhub.Token]{Items: tc.want}, got); diff != "" {
				t.Errorf("ListTokens of %s (-want +got):\n%s", tc.name, diff)
			}
		}
	})
	t.Run("no tokens left", func(t *testing.T) {
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteTokensOfUser(ctx, alice.ID) })
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.DeleteTokensOfUser(ctx, driverhub.NewID())
		})
	})
	t.Run("then DeleteUser", func(t *testing.T) {
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUser(ctx, alice.ID) })
	})
}
