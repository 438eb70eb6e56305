package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// newUpload returns a staged package of u's, expiring at expires.
func newUpload(u *driverhub.User, expires time.Time) *driverhub.StagedUpload {
	return &driverhub.StagedUpload{ID: driverhub.NewID(), TenantID: u.TenantID, UserID: u.ID, Kind: driverhub.UploadPackage,
		Filename: "meter.zip", Size: 1234, SHA256: digest(), Runtime: "python3", CreatedAt: now(), ExpiresAt: expires}
}

func createUploads(t testing.TB, s driverhub.Store, ups ...*driverhub.StagedUpload) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for _, u := range ups {
			if err := tx.CreateUpload(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func uploadErr(t testing.TB, s driverhub.Store, id string) error {
	return viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.UploadByID(ctx, id)
		return err
	})
}

func testUploads(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleDeveloper)
	create(t, s, tn, u)
	pkg := newUpload(u, now().Add(time.Hour))
	cfg := newUpload(u, now().Add(time.Hour))
	cfg.Kind, cfg.Filename, cfg.Runtime = driverhub.UploadConfigFile, "站点.ini", ""
	createUploads(t, s, pkg, cfg)

	for _, want := range []*driverhub.StagedUpload{pkg, cfg} {
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.StagedUpload, error) {
			return tx.UploadByID(ctx, want.ID)
		})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("UploadByID(%s) (-stored +read):\n%s", want.Kind, diff)
		}
	}
	wantIs(t, "UploadByID(unknown)", uploadErr(t, s, driverhub.NewID()), driverhub.ErrNotFound)
	dup := *pkg
	wantIs(t, "CreateUpload(same id)", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.CreateUpload(ctx, &dup) }),
		driverhub.ErrConflict)

	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUpload(ctx, pkg.ID) })
	wantIs(t, "UploadByID(deleted)", uploadErr(t, s, pkg.ID), driverhub.ErrNotFound)
	wantIs(t, "DeleteUpload(deleted)", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUpload(ctx, pkg.ID) }),
		driverhub.ErrNotFound)
	if err := uploadErr(t, s, cfg.ID); err != nil {
		t.Errorf("deleting one upload touched another: %v", err)
	}

	// A deleted user's uploads go with the user.
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	wantIs(t, "UploadByID(of a deleted user)", uploadErr(t, s, cfg.ID), driverhub.ErrNotFound)
}

func testDeleteExpiredUploads(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleDeveloper)
	create(t, s, tn, u)
	at := now()
	past, due, future := newUpload(u, at.Add(-time.Minute)), newUpload(u, at), newUpload(u, at.Add(time.Microsecond))
	createUploads(t, s, past, due, future)

	n := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.DeleteExpiredUploads(ctx, at) })
	if n != 2 {
		t.Errorf("DeleteExpiredUploads = %d, want 2 (one expired before now, one at now)", n)
	}
	wantIs(t, "UploadByID(expired before now)", uploadErr(t, s, past.ID), driverhub.ErrNotFound)
	wantIs(t, "UploadByID(expiring at now)", uploadErr(t, s, due.ID), driverhub.ErrNotFound)
	if err := uploadErr(t, s, future.ID); err != nil {
		t.Errorf("an upload expiring after now was deleted: %v", err)
	}
	if n := fetchUpdate(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) { return tx.DeleteExpiredUploads(ctx, at) }); n != 0 {
		t.Errorf("DeleteExpiredUploads again = %d, want 0", n)
	}
}

func testUploadBlobReferenced(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	u := newUser(tn, "alice", driverhub.RoleDeveloper)
	create(t, s, tn, u)
	staged := newUpload(u, now().Add(time.Hour))
	createUploads(t, s, staged)
	referenced := func() bool {
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.BlobReferenced(ctx, staged.SHA256) })
	}
	if !referenced() {
		t.Error("a staged upload's blob is not referenced: it could be deleted before the draft attaches it")
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteUpload(ctx, staged.ID) })
	if referenced() {
		t.Error("the blob of a deleted upload is still referenced")
	}
}

// fetchUpdate runs fn in an Update and returns its result, failing the test on error.
func fetchUpdate[T any](t testing.TB, s driverhub.Store, fn func(ctx context.Context, tx driverhub.Tx) (T, error)) T {
	t.Helper()
	var out T
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	return out
}
