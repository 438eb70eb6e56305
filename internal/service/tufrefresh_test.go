package service_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/service"
)

// versions reads, as a TUF client does, the timestamp and snapshot
// versions of the caller's repository.
func (tr *trust) versions(t *testing.T) (timestamp, snapshot int64) {
	t.Helper()
	trusted, err := tr.client(t, tr.file(t, "1.root.json"), tr.ts.clock.Now())
	if err != nil {
		t.Fatalf("a TUF client refuses the repository at %s: %v", tr.ts.clock.Now(), err)
	}
	return trusted.Timestamp.Signed.Version, trusted.Snapshot.Signed.Version
}

func TestTimestampAndSnapshotAreResignedAtHalfLife(t *testing.T) {
	t.Parallel()
	ts := newTestService(t, withTUF)
	tr := initTrust(t, ts, ts.admin)
	half := driverhub.DefaultTUFTimestampExpiry / 2

	ts.clock.Advance(half - time.Second)
	if n := must(ts.RefreshTUF(context.Background()))(t); n != 0 {
		t.Errorf("RefreshTUF before half-life re-signed %d repositories", n)
	}
	ts.clock.Advance(time.Second)
	if n := must(ts.RefreshTUF(context.Background()))(t); n != 1 {
		t.Errorf("RefreshTUF at half-life re-signed %d repositories, want 1", n)
	}
	if tsv, snap := tr.versions(t); tsv != 2 || snap != 1 {
		t.Errorf("after the timestamp's half-life: timestamp %d, snapshot %d; want 2, 1", tsv, snap)
	}
	_, err := ts.TUFMetadata(ts.admin, "1.timestamp.json")
	wantErr(t, err, driverhub.ENotFound, "")

	// Without refreshes, the repository would expire: the client refuses it.
	ts.clock.Advance(driverhub.DefaultTUFTimestampExpiry + time.Second)
	if _, err := tr.client(t, tr.file(t, "1.root.json"), ts.clock.Now()); err == nil {
		t.Errorf("a TUF client accepts a timestamp past its expiry")
	}
	// A late refresh still renews it; past half the snapshot's 7 days, the snapshot too.
	ts.clock.Advance(t0.Add(driverhub.TUFSnapshotExpiry / 2).Sub(ts.clock.Now()))
	if n := must(ts.RefreshTUF(context.Background()))(t); n != 1 {
		t.Errorf("RefreshTUF at the snapshot's half-life re-signed %d repositories, want 1", n)
	}
	if tsv, snap := tr.versions(t); tsv != 3 || snap != 2 {
		t.Errorf("after the snapshot's half-life: timestamp %d, snapshot %d; want 3, 2", tsv, snap)
	}
}

// TestTimestampResignedOnceByReplicas runs two services on one PostgreSQL
// database, with one clock, as two replicas: at half-life both refresh at
// once, and exactly one new timestamp is signed.
func TestTimestampResignedOnceByReplicas(t *testing.T) {
	t.Parallel()
	store, err := postgres.Open(context.Background(), pgtest.Fresh(t, pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testService{store: store, blobs: blobs, clock: &testClock{now: t0}}
	replica := func() *service.Service {
		svc, err := service.New(service.Config{Store: store, Blobs: blobs, Now: ts.clock.Now, BcryptCost: 4,
			Logger: slog.New(slog.DiscardHandler), TUF: service.TUFConfig{SecretKey: testSecretKey, TimestampExpiry: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	a, b := replica(), replica()
	ts.Service = a
	admin := must(a.Bootstrap(context.Background(), adminPassword, ""))(t)
	ts.admin = ts.tokenCtx(t, admin.Token)
	tr := initTrust(t, ts, ts.admin)

	for round, step := range []time.Duration{30*time.Minute - time.Second, time.Second, 30 * time.Minute} {
		ts.clock.Advance(step)
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i, svc := range []*service.Service{a, b} {
			wg.Go(func() {
				n, err := svc.RefreshTUF(context.Background())
				if err != nil {
					t.Errorf("round %d: replica %d: %v", round, i, err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		wantSigned := []int{0, 1, 1}[round]
		if counts[0]+counts[1] != wantSigned {
			t.Errorf("round %d: the replicas re-signed %v timestamps, want %d in all", round, counts, wantSigned)
		}
	}
	if tsv, _ := tr.versions(t); tsv != 3 {
		t.Errorf("timestamp version %d after two half-lives, want 3", tsv)
	}
}
