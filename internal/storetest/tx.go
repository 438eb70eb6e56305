package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

var errBoom = errors.New("boom")

// snapshot is everything a store holds about one tenant, and whether a
// second tenant exists.
type snapshot struct {
	Tenants  int
	Globex   bool
	Users    []*driverhub.User
	Tokens   []*driverhub.Token
	Drivers  []*driverhub.Driver
	Versions map[string][]*driverhub.DriverVersion // by driver name
}

func takeSnapshot(t testing.TB, s driverhub.Store, tn *driverhub.Tenant) snapshot {
	t.Helper()
	var snap snapshot
	all := driverhub.Page{Limit: driverhub.MaxPageLimit}
	view(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		var err error
		if snap.Tenants, err = tx.CountTenants(ctx); err != nil {
			return err
		}
		switch _, err := tx.TenantByName(ctx, "globex"); {
		case err == nil:
			snap.Globex = true
		case !errors.Is(err, driverhub.ErrNotFound):
			return err
		}
		users, err := tx.ListUsers(ctx, tn.ID, all)
		if err != nil {
			return err
		}
		tokens, err := tx.ListTokens(ctx, tn.ID, "", all)
		if err != nil {
			return err
		}
		drivers, err := tx.ListDrivers(ctx, tn.ID, driverhub.DriverFilter{}, all)
		if err != nil {
			return err
		}
		snap.Users, snap.Tokens, snap.Drivers = users.Items, tokens.Items, drivers.Items
		snap.Versions = map[string][]*driverhub.DriverVersion{}
		for _, d := range drivers.Items {
			vs, err := tx.ListVersions(ctx, d.ID, "", all)
			if err != nil {
				return err
			}
			snap.Versions[d.Name] = vs.Items
		}
		return nil
	})
	return snap
}

func testRollback(t *testing.T, newStore func(testing.TB) driverhub.Store) {
	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context, tx driverhub.Tx, tn *driverhub.Tenant, u *driverhub.User, d *driverhub.Driver, v1, v2 *driverhub.DriverVersion, k *driverhub.Token) error
		want error
	}{
		{"error after inserts", func(ctx context.Context, tx driverhub.Tx, tn *driverhub.Tenant, u *driverhub.User, d *driverhub.Driver, v1, v2 *driverhub.DriverVersion, k *driverhub.Token) error {
			globex := newTenant("globex")
			bob := newUser(tn, "bob", driverhub.RoleViewer)
			nd := newDriver(tn, "opcua")
			for _, it := range []any{globex, newUser(globex, "carol", driverhub.RoleAdmin), bob, newToken(bob, "ci"),
				nd, newVersion(nd, "1.0.0"), newVersion(d, "9.9.9")} {
				if err := insert(ctx, tx, it); err != nil {
					return err
				}
			}
			return errBoom
		}, errBoom},
		{"error after updates and deletes", func(ctx context.Context, tx driverhub.Tx, tn *driverhub.Tenant, u *driverhub.User, d *driverhub.Driver, v1, v2 *driverhub.DriverVersion, k *driverhub.Token) error {
			later := now().Add(time.Hour)
			u2, d2, v := *u, *d, *v1
			u2.Role, u2.UpdatedAt = driverhub.RoleViewer, later
			d2.Description, d2.UpdatedAt = "changed", later
			publish(&v, later)
			v.UpdatedAt = later
			for _, step := range []func() error{
				func() error { return tx.UpdateUser(ctx, &u2) },
				func() error { return tx.UpdateDriver(ctx, &d2) },
				func() error { return tx.UpdateVersion(ctx, &v) },
				func() error { return tx.DeleteVersion(ctx, v2.ID) },
				func() error { return tx.DeleteToken(ctx, k.ID) },
			} {
				if err := step(); err != nil {
					return err
				}
			}
			return fmt.Errorf("wrapped: %w", errBoom)
		}, errBoom},
		{"error after deleting a user's tokens", func(ctx context.Context, tx driverhub.Tx, tn *driverhub.Tenant, u *driverhub.User, d *driverhub.Driver, v1, v2 *driverhub.DriverVersion, k *driverhub.Token) error {
			if err := tx.DeleteTokensOfUser(ctx, u.ID); err != nil {
				return err
			}
			if err := tx.DeleteUser(ctx, u.ID); err != nil {
				return err
			}
			return errBoom
		}, errBoom},
		{"conflict after inserts", func(ctx context.Context, tx driverhub.Tx, tn *driverhub.Tenant, u *driverhub.User, d *driverhub.Driver, v1, v2 *driverhub.DriverVersion, k *driverhub.Token) error {
			for _, it := range []any{newTenant("globex"), newDriver(tn, "opcua"), newTenant(tn.Name)} {
				if err := insert(ctx, tx, it); err != nil {
					return err
				}
			}
			return nil
		}, driverhub.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tn := newTenant("acme")
			u := newUser(tn, "alice", driverhub.RoleAdmin)
			k := newToken(u, "ci")
			d := newDriver(tn, "modbus")
			v1, v2 := newVersion(d, "1.0.0"), newVersion(d, "1.1.0")
			create(t, s, tn, u, k, d, v1, v2)
			before := takeSnapshot(t, s, tn)

			err := updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				return tc.fn(ctx, tx, tn, u, d, v1, v2, k)
			})
			wantIs(t, "Update", err, tc.want)
			if diff := cmp.Diff(before, takeSnapshot(t, s, tn)); diff != "" {
				t.Errorf("store after a failed Update (-before +after):\n%s", diff)
			}
		})
	}
}

func testUpdateThenView(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleAdmin)
	d := newDriver(tn, "modbus")
	v := newVersion(d, "1.0.0")
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for _, it := range []any{tn, u, d, v} {
			if err := insert(ctx, tx, it); err != nil {
				return err
			}
		}
		// A transaction reads its own writes.
		got, err := tx.DriverByName(ctx, tn.ID, d.Name)
		if err != nil {
			return fmt.Errorf("DriverByName in the creating Update: %w", err)
		}
		if diff := cmp.Diff(d, got); diff != "" {
			t.Errorf("DriverByName in the creating Update (-want +got):\n%s", diff)
		}
		return nil
	})

	want := snapshot{Tenants: 1, Users: []*driverhub.User{u}, Tokens: []*driverhub.Token{}, Drivers: []*driverhub.Driver{d},
		Versions: map[string][]*driverhub.DriverVersion{d.Name: {v}}}
	if diff := cmp.Diff(want, takeSnapshot(t, s, tn)); diff != "" {
		t.Errorf("View after Update (-want +got):\n%s", diff)
	}

	// A later Update sees the earlier one too.
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		got, err := tx.VersionByName(ctx, d.ID, v.Version)
		if err != nil {
			return err
		}
		got.Description, got.UpdatedAt = "seen", got.UpdatedAt.Add(time.Second)
		v = got
		return tx.UpdateVersion(ctx, got)
	})
	if diff := cmp.Diff(v, getVersion(t, s, d.ID, v.Version)); diff != "" {
		t.Errorf("View after the second Update (-want +got):\n%s", diff)
	}
}

func testFnError(t *testing.T, s driverhub.Store) {
	invalid := driverhub.Invalid("name", "is wrong")
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, fn func(driverhub.Tx) error) error
		err  error
	}{
		{"Update", s.Update, errBoom},
		{"View", s.View, errBoom},
		{"Update, domain error", s.Update, invalid},
		{"View, domain error", s.View, invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			err := tc.run(t.Context(), func(driverhub.Tx) error {
				called = true
				return tc.err
			})
			if !called {
				t.Fatal("fn not called")
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error = %v, want %v", err, tc.err)
			}
			if e, ok := driverhub.AsError(tc.err); ok {
				if code := driverhub.ErrorCode(err); code != e.Code {
					t.Errorf("ErrorCode = %q, want %q", code, e.Code)
				}
			}
		})
	}
}

func testCancelledContext(t *testing.T, s driverhub.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, fn func(driverhub.Tx) error) error
	}{
		{"Update", s.Update},
		{"View", s.View},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(ctx, func(tx driverhub.Tx) error { return tx.CreateTenant(ctx, newTenant("acme")) })
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
		})
	}
	if n := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.CountTenants(ctx) }); n != 0 {
		t.Errorf("CountTenants = %d after cancelled transactions, want 0", n)
	}
}

// testAbandonedUpdate: an update whose caller gives up while its fn runs
// (its context ends after its writes) commits nothing and returns the
// context's error, whichever kind of update it is.
func testAbandonedUpdate(t *testing.T, s driverhub.Store) {
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, fn func(driverhub.Tx) error) error
	}{
		{"Update", s.Update},
		{"UpdateFirst", s.UpdateFirst},
		{"UpdateRows", s.UpdateRows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			err := tc.run(ctx, func(tx driverhub.Tx) error {
				if err := tx.CreateTenant(ctx, newTenant("acme")); err != nil {
					return err
				}
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if n := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.CountTenants(ctx) }); n != 0 {
				t.Errorf("CountTenants = %d after the abandoned %s, want 0", n, tc.name)
			}
		})
	}
}

// testConcurrentUpdates runs Updates from several goroutines at once, each
// reading before it writes, as services do, with Views alongside.
func testConcurrentUpdates(t *testing.T, s driverhub.Store) {
	const writers, perWriter, readers = 8, 5, 4
	tn := newTenant("acme")
	create(t, s, tn)
	ctx := t.Context()

	var wg, readWG sync.WaitGroup
	done := make(chan struct{})
	for r := range readers {
		readWG.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(ctx, func(tx driverhub.Tx) error {
					l, err := tx.ListDrivers(ctx, tn.ID, driverhub.DriverFilter{}, driverhub.Page{Limit: driverhub.MaxPageLimit})
					if err != nil {
						return err
					}
					for _, d := range l.Items {
						if _, err := tx.CountVersions(ctx, d.ID, ""); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
			}
		})
	}
	var want []string
	for w := range writers {
		for i := range perWriter {
			want = append(want, fmt.Sprintf("w%dd%d", w, i))
		}
		wg.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("w%dd%d", w, i)
				err := s.Update(ctx, func(tx driverhub.Tx) error {
					if _, err := tx.DriverByName(ctx, tn.ID, name); !errors.Is(err, driverhub.ErrNotFound) {
						return fmt.Errorf("DriverByName before creating: %v, want not found", err)
					}
					d := newDriver(tn, name)
					if err := tx.CreateDriver(ctx, d); err != nil {
						return err
					}
					return tx.CreateVersion(ctx, newVersion(d, "1.0.0"))
				})
				if err != nil {
					t.Errorf("writer %d, driver %s: %v", w, name, err)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readWG.Wait()

	slices.Sort(want)
	l := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Driver], error) {
		return tx.ListDrivers(ctx, tn.ID, driverhub.DriverFilter{}, driverhub.Page{Limit: driverhub.MaxPageLimit})
	})
	var got []string
	for _, d := range l.Items {
		got = append(got, d.Name)
		if n := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) {
			return tx.CountVersions(ctx, d.ID, "")
		}); n != 1 {
			t.Errorf("driver %s has %d versions, want 1", d.Name, n)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drivers after concurrent Updates (-want +got):\n%s", diff)
	}
}

func testPing(t *testing.T, s driverhub.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// testNoLostRowUpdates runs read-modify-writes of one instance's gateway
// from several goroutines at once, through Update and UpdateRows alike
// (a report, a sync, a user's change): each adds its own name to the
// gateway's built-in drivers, and every name is there at the end, none
// lost to a write that read the row before another's commit.
func testNoLostRowUpdates(t *testing.T, s driverhub.Store) {
	ctx := t.Context()
	tn := newTenant("acme")
	i := edgeInstance(tn, "gw1")
	create(t, s, tn, i)
	const writers, perWriter = 6, 5
	var wg sync.WaitGroup
	var want []string
	for w := range writers {
		for k := range perWriter {
			want = append(want, fmt.Sprintf("w%dk%d", w, k))
		}
		updateFn := s.Update
		if w%2 == 0 {
			updateFn = s.UpdateRows
		}
		wg.Go(func() {
			for k := range perWriter {
				err := updateFn(ctx, func(tx driverhub.Tx) error {
					fresh, err := tx.InstanceByID(ctx, i.ID)
					if err != nil {
						return err
					}
					g := fresh.Gateway
					g.BuiltinsReported = true
					g.BuiltinDrivers = append(g.BuiltinDrivers, fmt.Sprintf("w%dk%d", w, k))
					return tx.UpdateGateway(ctx, i.ID, g)
				})
				if err != nil {
					t.Errorf("writer %d, update %d: %v", w, k, err)
				}
			}
		})
	}
	wg.Wait()
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, i.ID)
	}).Gateway.BuiltinDrivers
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built-in drivers after concurrent read-modify-writes (-want +got):\n%s", diff)
	}
}
