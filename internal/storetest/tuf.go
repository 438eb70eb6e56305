package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// RunTUF runs the cases of TUFTx. newStore returns a fresh, empty,
// migrated store for each call; every subtest runs in parallel on its own.
func RunTUF(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	edgeRun(t, newStore, []edgeCase{
		{"Metadata", testTUFMetadata},
		{"RefreshDue", testTUFRefreshDue},
		{"Keys", testTUFKeys},
		{"Policy", testTUFPolicy},
	})
}

func tufMeta(tn *driverhub.Tenant, role string, version int64, refresh time.Time) *driverhub.TUFMetadata {
	body, _ := json.Marshal(map[string]any{"signed": map[string]any{"_type": role, "version": version, "名": "値"}})
	return &driverhub.TUFMetadata{TenantID: tn.ID, Role: role, Version: version, Body: body,
		ExpiresAt: refresh.Add(time.Hour), RefreshAt: refresh, CreatedAt: now()}
}

func putTUF(t testing.TB, s driverhub.Store, ms ...*driverhub.TUFMetadata) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for _, m := range ms {
			if err := tx.PutTUFMetadata(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

func testTUFMetadata(t *testing.T, s driverhub.Store) {
	acme, other := newTenant("acme"), newTenant("other")
	create(t, s, acme, other)
	r1, r2 := tufMeta(acme, driverhub.TUFRoot, 1, now()), tufMeta(acme, driverhub.TUFRoot, 2, now())
	ts := tufMeta(acme, driverhub.TUFTimestamp, 7, now())
	putTUF(t, s, r1, r2, ts, tufMeta(other, driverhub.TUFRoot, 3, now()))

	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.TUFMetadata, error) {
		return tx.TUFMetadataVersion(ctx, acme.ID, driverhub.TUFRoot, 1)
	})
	if diff := cmp.Diff(r1, got); diff != "" {
		t.Errorf("TUFMetadataVersion(root, 1) (-stored +read):\n%s", diff)
	}
	latest := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.TUFMetadata, error) {
		return tx.LatestTUFMetadata(ctx, acme.ID, driverhub.TUFRoot)
	})
	if diff := cmp.Diff(r2, latest); diff != "" {
		t.Errorf("LatestTUFMetadata(root) is not version 2 of acme (-want +got):\n%s", diff)
	}
	wantIs(t, "LatestTUFMetadata(no targets yet)", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.LatestTUFMetadata(ctx, acme.ID, driverhub.TUFTargets)
		return err
	}), driverhub.ErrNotFound)
	wantIs(t, "TUFMetadataVersion(other tenant's version)", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.TUFMetadataVersion(ctx, acme.ID, driverhub.TUFRoot, 3)
		return err
	}), driverhub.ErrNotFound)

	// A second replica re-signing the same version conflicts: the first wins.
	again := tufMeta(acme, driverhub.TUFTimestamp, 7, now())
	wantIs(t, "PutTUFMetadata(same version)", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.PutTUFMetadata(ctx, again)
	}), driverhub.ErrConflict)

	putTUF(t, s, tufMeta(acme, driverhub.TUFTimestamp, 8, now()))
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteTUFMetadataBelow(ctx, acme.ID, driverhub.TUFTimestamp, 8)
	})
	wantIs(t, "timestamp 7 after DeleteTUFMetadataBelow(8)", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.TUFMetadataVersion(ctx, acme.ID, driverhub.TUFTimestamp, 7)
		return err
	}), driverhub.ErrNotFound)
	view(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.TUFMetadataVersion(ctx, acme.ID, driverhub.TUFRoot, 1)
		return err // other roles are kept
	})
}

func testTUFRefreshDue(t *testing.T, s driverhub.Store) {
	a, b, c := newTenant("a"), newTenant("b"), newTenant("c")
	create(t, s, a, b, c)
	at := now()
	// a: its latest timestamp is due; b: only an older one was; c: not due.
	putTUF(t, s, tufMeta(a, driverhub.TUFTimestamp, 1, at.Add(-time.Minute)),
		tufMeta(b, driverhub.TUFTimestamp, 1, at.Add(-time.Hour)), tufMeta(b, driverhub.TUFTimestamp, 2, at.Add(time.Hour)),
		tufMeta(c, driverhub.TUFTimestamp, 1, at.Add(time.Second)), tufMeta(c, driverhub.TUFSnapshot, 1, at))
	due := func(role string, when time.Time) []string {
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]string, error) { return tx.TUFRefreshDue(ctx, role, when) })
	}
	if diff := cmp.Diff([]string{a.ID}, due(driverhub.TUFTimestamp, at)); diff != "" {
		t.Errorf("TUFRefreshDue(timestamp) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{c.ID}, due(driverhub.TUFSnapshot, at)); diff != "" {
		t.Errorf("TUFRefreshDue(snapshot): due exactly at refresh_at (-want +got):\n%s", diff)
	}
	if got := due(driverhub.TUFTargets, at); len(got) != 0 {
		t.Errorf("TUFRefreshDue(targets) = %v, want none", got)
	}
}

func testTUFKeys(t *testing.T, s driverhub.Store) {
	acme := newTenant("acme")
	create(t, s, acme)
	keys := []*driverhub.TUFKey{
		{TenantID: acme.ID, Role: driverhub.TUFSnapshot, KeyID: digest(), Public: json.RawMessage(`{"keytype":"ed25519"}`),
			Sealed: []byte{0, 1, 2, 255, 254}, CreatedAt: now()},
		{TenantID: acme.ID, Role: driverhub.TUFTimestamp, KeyID: digest(), Public: json.RawMessage(`{"keytype":"ed25519"}`),
			Sealed: []byte("sealed"), CreatedAt: now()},
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		for _, k := range keys {
			if err := tx.PutTUFKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.TUFKey, error) {
		return tx.TUFKeys(ctx, acme.ID)
	})
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("TUFKeys (-stored +read):\n%s", diff)
	}
	dup := *keys[0]
	dup.KeyID = digest()
	wantIs(t, "PutTUFKey(second snapshot key)", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.PutTUFKey(ctx, &dup)
	}), driverhub.ErrConflict)
}

func testTUFPolicy(t *testing.T, s driverhub.Store) {
	acme, other := newTenant("acme"), newTenant("other")
	create(t, s, acme, other)
	policy := func(tn *driverhub.Tenant) bool {
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.RequireSignedDrivers(ctx, tn.ID) })
	}
	if policy(acme) {
		t.Errorf("a new tenant requires signed drivers")
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.SetRequireSignedDrivers(ctx, acme.ID, true)
	})
	if !policy(acme) || policy(other) {
		t.Errorf("after SetRequireSignedDrivers(acme, true): acme %v, other %v; want true, false", policy(acme), policy(other))
	}
	wantIs(t, "SetRequireSignedDrivers(unknown tenant)", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.SetRequireSignedDrivers(ctx, driverhub.NewID(), true)
	}), driverhub.ErrNotFound)
}
