package service_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/service"
)

// TestConcurrentSweepsOnPostgres runs two replicas' collectors at once on
// PostgreSQL while a third uploads some of the very blobs they collect:
// each unreferenced blob is deleted once, by one of them, and every blob
// something refers to at the end is there.
func TestConcurrentSweepsOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts, replica := sweepsOnPostgresSetup(t, ctx)
	a, err := ts.Bootstrap(ctx, adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	admin := ts.tokenCtx(t, a.Token)
	ts.newDriver(t, admin, driverIn("Py", "python3"))

	const orphans, reused = 40, 5
	var pkgs [][]byte
	for i := range orphans {
		pkgs = append(pkgs, packageFor(t, "python3", fmt.Sprintf("print(%d)", i)))
		ts.putBlob(t, pkgs[i])
	}
	kept := packageFor(t, "python3", "kept")
	ts.newVersion(t, admin, "Py", "kept")
	must(ts.PutPackage(admin, "Py", "kept", "", bytes.NewReader(kept)))(t)
	must(ts.CollectBlobs(ctx, time.Hour))(t)
	ts.clock.Advance(2 * time.Hour)
	for i := range reused {
		ts.newVersion(t, admin, "Py", fmt.Sprint("u", i))
	}

	sweepers := []*service.Service{ts.Service, replica()}
	deleted := sweepWhileUploading(t, ctx, ts, admin, sweepers, pkgs, reused)

	for i, p := range pkgs {
		if got, want := ts.stored(t, sha256Hex(p)), i < reused; got != want {
			t.Errorf("package %d stored = %v, want %v", i, got, want)
		}
	}
	for i := range reused {
		if got := readAll(t, must(ts.OpenPackage(admin, "Py", fmt.Sprint("u", i)))(t)); !bytes.Equal(got, pkgs[i]) {
			t.Errorf("package u%d, uploaded during the sweeps, downloads wrong", i)
		}
	}
	if !ts.stored(t, sha256Hex(kept)) {
		t.Error("a referenced package was collected")
	}
	// A blob the uploads took back may have been deleted first and stored
	// anew: at least the others were deleted, each by one sweep only.
	if n := deleted[0] + deleted[1]; n < orphans-reused || n > orphans {
		t.Errorf("the sweeps deleted %d and %d blobs, want %d to %d in all", deleted[0], deleted[1], orphans-reused, orphans)
	}
	checkLaterSweeps(t, ctx, ts, pkgs, reused)
}

// sweepsOnPostgresSetup opens a fresh PostgreSQL store and a blob store,
// and returns a testService on them and a function making another
// replica's Service on them.
func sweepsOnPostgresSetup(t *testing.T, ctx context.Context) (*testService, func() *service.Service) {
	store, err := postgres.Open(ctx, pgtest.Fresh(t, pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ts := &testService{store: store, blobs: blobs, clock: &testClock{now: t0}}
	replica := func() *service.Service {
		svc, err := service.New(service.Config{Store: store, Blobs: blobs, Now: ts.clock.Now, BcryptCost: 4,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	ts.Service = replica()
	return ts, replica
}

// sweepWhileUploading runs a collection on each of sweepers at once while
// the first reused packages are uploaded as versions u0, u1…, and returns
// how many blobs each sweep deleted.
func sweepWhileUploading(t *testing.T, ctx context.Context, ts *testService, admin context.Context, sweepers []*service.Service, pkgs [][]byte, reused int) []int {
	deleted := make([]int, len(sweepers))
	var wg sync.WaitGroup
	for i, svc := range sweepers {
		wg.Go(func() {
			sw, err := svc.CollectBlobs(ctx, time.Hour)
			if err != nil {
				t.Errorf("sweep %d: %v", i, err)
			}
			deleted[i] = sw.Deleted
		})
	}
	wg.Go(func() {
		for i := range reused {
			if _, err := ts.PutPackage(admin, "Py", fmt.Sprint("u", i), "", bytes.NewReader(pkgs[i])); err != nil {
				t.Errorf("upload %d during the sweeps: %v", i, err)
			}
		}
	})
	wg.Wait()
	return deleted
}

// checkLaterSweeps runs two more sweeps, each past the grace period, and
// checks they take nothing referenced and leave no row collectable.
func checkLaterSweeps(t *testing.T, ctx context.Context, ts *testService, pkgs [][]byte, reused int) {
	// A sweep that listed a blob another then deleted records it again;
	// such rows go with the next sweeps, and nothing referenced with them.
	ts.clock.Advance(2 * time.Hour)
	must(ts.CollectBlobs(ctx, time.Hour))(t)
	ts.clock.Advance(2 * time.Hour)
	must(ts.CollectBlobs(ctx, time.Hour))(t)
	for i := range reused {
		if !ts.stored(t, sha256Hex(pkgs[i])) {
			t.Errorf("package u%d was collected by a later sweep", i)
		}
	}
	var left int
	err := ts.store.View(ctx, func(tx driverhub.Tx) error {
		l, err := tx.CollectableBlobs(ctx, ts.clock.Now(), ts.clock.Now(), "", 100)
		left = len(l)
		return err
	})
	if err != nil || left != 0 {
		t.Errorf("rows still collectable after later sweeps: %d (%v)", left, err)
	}
}
