// Package storetest is the conformance suite every driverhub.Store must
// pass. Implementations call Run from their own tests; the SQLite store and
// the PostgreSQL one run the very same cases.
//
// The expectations of the suite, beyond what store.go says:
//   - a stored value reads back equal, field by field; times have
//     microsecond precision and come back in UTC;
//   - a Token's secret (Token.Token) is never stored;
//   - lists page by keyset: every page but the last is full, the last has
//     an empty NextCursor, and an empty list has non-nil Items;
//   - Page.Limit 0 means 50, and a limit outside 1-500 or a cursor the
//     store did not issue is an invalid_argument error naming "limit" or
//     "cursor";
//   - an error returned by the fn of Update or View comes back unchanged
//     (errors.Is holds), and Update then leaves nothing behind.
//
// Names in the ordering cases are lower-case letters and digits, whose
// order is the same under byte order and under the usual collations.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// Run runs the suite; newStore returns a fresh, empty, migrated store for each call.
// Every subtest runs in parallel with the others, each on its own store.
func Run(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, newStore func(t testing.TB) driverhub.Store)
	}{
		{"Tenants", onStore(testTenants)},
		{"Users", onStore(testUsers)},
		{"CountAdmins", onStore(testCountAdmins)},
		{"Tokens", onStore(testTokens)},
		{"DeleteTokensOfUser", onStore(testDeleteTokensOfUser)},
		{"Drivers", onStore(testDrivers)},
		{"ListDriversFilter", onStore(testListDriversFilter)},
		{"Versions", onStore(testVersions)},
		{"ListVersions", onStore(testListVersions)},
		{"LatestPublished", testLatestPublished},
		{"CountVersions", onStore(testCountVersions)},
		{"BlobReferenced", onStore(testBlobReferenced)},
		{"Uploads", onStore(testUploads)},
		{"DeleteExpiredUploads", onStore(testDeleteExpiredUploads)},
		{"UploadBlobReferenced", onStore(testUploadBlobReferenced)},
		{"BlobCollection", onStore(testBlobCollection)},
		{"BlobDeletionTakeover", onStore(testBlobDeletionTakeover)},
		{"BlobReferencesStopCollection", onStore(testBlobReferencesStopCollection)},
		{"ReferencedBlobs", onStore(testReferencedBlobs)},
		{"TenantBlobUsage", onStore(testTenantBlobUsage)},
		{"NotFound", onStore(testNotFound)},
		{"Conflict", onStore(testConflict)},
		{"TenantScope", onStore(testTenantScope)},
		{"Pagination", testPagination},
		{"PageRefused", testPageRefused},
		{"Rollback", testRollback},
		{"UpdateThenView", onStore(testUpdateThenView)},
		{"FnError", onStore(testFnError)},
		{"CancelledContext", onStore(testCancelledContext)},
		{"AbandonedUpdate", onStore(testAbandonedUpdate)},
		{"ConcurrentUpdates", onStore(testConcurrentUpdates)},
		{"NoLostRowUpdates", onStore(testNoLostRowUpdates)},
		{"Ping", onStore(testPing)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore)
		})
	}
}

// onStore adapts a test that needs one store to one that makes its own.
func onStore(fn func(t *testing.T, s driverhub.Store)) func(*testing.T, func(testing.TB) driverhub.Store) {
	return func(t *testing.T, newStore func(testing.TB) driverhub.Store) { fn(t, newStore(t)) }
}

// now is the current time as the store keeps it: UTC, whole microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// update runs fn in s.Update and fails the test on error.
func update(t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Update(ctx, func(tx driverhub.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test on error.
func view(t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) error) {
	t.Helper()
	if err := viewErr(t, s, fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// viewErr runs fn in s.View and returns its error.
func viewErr(t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	return s.View(ctx, func(tx driverhub.Tx) error { return fn(ctx, tx) })
}

// updateErr runs fn in s.Update and returns its error.
func updateErr(t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	return s.Update(ctx, func(tx driverhub.Tx) error { return fn(ctx, tx) })
}

// fetch runs one lookup in a View and returns its result, failing the test on error.
func fetch[T any](t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) (T, error)) T {
	t.Helper()
	var out T
	view(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	return out
}

// create inserts the items, in order, in one Update.
func create(t testing.TB, s driverhub.Store, items ...any) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for _, it := range items {
			if err := insert(ctx, tx, it); err != nil {
				return fmt.Errorf("create %T: %w", it, err)
			}
		}
		return nil
	})
}

// insert creates one item with the Create method of its type.
func insert(ctx context.Context, tx driverhub.Tx, item any) error {
	switch v := item.(type) {
	case *driverhub.Tenant:
		return tx.CreateTenant(ctx, v)
	case *driverhub.User:
		return tx.CreateUser(ctx, v)
	case *driverhub.Token:
		return tx.CreateToken(ctx, v)
	case *driverhub.Driver:
		return tx.CreateDriver(ctx, v)
	case *driverhub.DriverVersion:
		return tx.CreateVersion(ctx, v)
	case *driverhub.Instance:
		return tx.CreateInstance(ctx, v)
	case *driverhub.Device:
		return tx.CreateDevice(ctx, v)
	case *driverhub.Binding:
		return tx.CreateBinding(ctx, v)
	case *driverhub.Deployment:
		return tx.CreateDeployment(ctx, v)
	case *driverhub.Listing:
		return tx.PutListing(ctx, v)
	case *driverhub.Acquisition:
		return tx.CreateAcquisition(ctx, v)
	}
	panic(fmt.Sprintf("storetest: cannot insert a %T", item))
}

// absentCase is a read or a write (run in an Update) of something that is
// not there: fn must fail with ErrNotFound.
type absentCase struct {
	name  string
	write bool
	fn    func(ctx context.Context, tx driverhub.Tx) error
}

// wantIs checks that err matches target.
func wantIs(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want one matching %v", what, err, target)
	}
}

// wantInvalid checks that err is an invalid_argument error about field.
func wantInvalid(t testing.TB, what string, err error, field string) {
	t.Helper()
	e, ok := driverhub.AsError(err)
	if !ok || e.Code != driverhub.EInvalid || e.Field != field {
		t.Errorf("%s: error = %v, want an %s error about %q", what, err, driverhub.EInvalid, field)
	}
}

// with applies change to x and returns it, to build a case's value in place.
func with[T any](x *T, change func(x *T)) *T {
	change(x)
	return x
}

func newTenant(name string) *driverhub.Tenant {
	return &driverhub.Tenant{ID: driverhub.NewID(), Name: name, CreatedAt: now()}
}

func newUser(tn *driverhub.Tenant, username string, role driverhub.Role) *driverhub.User {
	at := now()
	return &driverhub.User{
		ID: driverhub.NewID(), TenantID: tn.ID, Username: username, Role: role,
		PasswordHash: "$2a$10$" + driverhub.NewSecret("", 16), CreatedAt: at, UpdatedAt: at,
	}
}

func newToken(u *driverhub.User, name string) *driverhub.Token {
	return &driverhub.Token{
		ID: driverhub.NewID(), TenantID: u.TenantID, UserID: u.ID, Name: name, Role: u.Role,
		Hash: driverhub.NewSecret("", 32), CreatedAt: now(),
	}
}

func newDriver(tn *driverhub.Tenant, name string) *driverhub.Driver {
	at := now()
	return &driverhub.Driver{
		ID: driverhub.NewID(), TenantID: tn.ID, Name: name, Protocol: "modbus", Runtime: driverhub.RuntimePython3,
		Description: "driver " + name, CreatedAt: at, UpdatedAt: at,
	}
}

// newVersion returns a draft of d with the defaults of NewDriverVersion.
func newVersion(d *driverhub.Driver, version string) *driverhub.DriverVersion {
	v := driverhub.NewDriverVersion()
	v.ID = driverhub.NewID()
	v.DriverID = d.ID
	v.Driver = d.Name
	v.Version = version
	v.MinEdgeVersion = "1.0.0"
	v.CreatedAt = now()
	v.UpdatedAt = v.CreatedAt
	return v
}

// publish marks v published at the given time.
func publish(v *driverhub.DriverVersion, at time.Time) *driverhub.DriverVersion {
	v.Status = driverhub.StatusPublished
	v.PublishedAt = &at
	return v
}

// digest returns a SHA-256-shaped digest that no other call returns.
func digest() string { return driverhub.NewSecret("", 32) }
