package service_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

func TestPutPackageInflatesEveryEntry(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	good := storedZip(t, 200<<10)
	badCRC := bytes.Clone(good)
	badCRC[bytes.Index(badCRC, []byte("0123456789abcdef"))+100<<10] ^= 1
	for _, tc := range []struct {
		name     string
		zip      []byte
		mentions []string
	}{
		{"wrong CRC", badCRC, []string{`"data.bin"`, "CRC-32"}},
		{"size understated by 600 MiB", understatedZip(t), []string{`"huge.bin"`, "more data than its header declares (1048576 bytes)"}},
	} {
		_, err := ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(tc.zip))
		e := wantErr(t, err, driverhub.EInvalid, "package")
		contains(t, tc.name+": message", e.Message, tc.mentions...)
		if ts.stored(t, sha256Hex(tc.zip)) {
			t.Errorf("%s: the refused package was stored", tc.name)
		}
		_, err = ts.StageUpload(ts.admin, driverhub.UploadInput{Kind: driverhub.UploadPackage, Filename: "x.zip", Runtime: "python3"},
			bytes.NewReader(tc.zip))
		wantErr(t, err, driverhub.EInvalid, "package")
	}
	must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(good)))(t)
}

func TestCorruptBlobNeverServedAndReuploadRepairs(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	zip := storedZip(t, 300<<10)
	v := must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(zip)))(t)
	if got := readAll(t, must(ts.OpenPackage(ts.admin, "Py", "1.0"))(t)); !bytes.Equal(got, zip) {
		t.Fatal("the package downloads wrong before any corruption")
	}
	ts.flipBlob(t, v.Package.SHA256)
	got, err := download(must(ts.OpenPackage(ts.admin, "Py", "1.0"))(t))
	if !errors.Is(err, driverhub.ErrBlobCheck) || len(got) >= len(zip) {
		t.Fatalf("download of a corrupt package: %d of %d bytes, error %v; want it cut short with ErrBlobCheck", len(got), len(zip), err)
	}
	must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(zip)))(t)
	if got := readAll(t, must(ts.OpenPackage(ts.admin, "Py", "1.0"))(t)); !bytes.Equal(got, zip) {
		t.Error("uploading the same bytes again did not repair the package")
	}
}

// TestBlobCollector moves the clock: a blob goes only once it has been
// unreferenced, and unclaimed, for the grace period; referenced ones stay.
func TestBlobCollector(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	const grace = time.Hour
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	pkg := packageFor(t, "python3", "print(1)")
	must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(pkg)))(t)
	must(ts.PutConfigFile(ts.admin, "Py", "1.0", "a.ini", strings.NewReader("a=1")))(t)
	must(ts.PutConfigFile(ts.admin, "Py", "1.0", "b.ini", strings.NewReader("b=2")))(t) // a.ini is no longer used
	staged := must(ts.StageUpload(ts.admin, driverhub.UploadInput{Kind: driverhub.UploadConfigFile, Filename: "c.ini"},
		strings.NewReader("c=3")))(t)
	orphan := ts.putBlob(t, []byte("left behind by a crash"))
	blobs := map[string]string{"package": sha256Hex(pkg), "replaced config": sha256Hex([]byte("a=1")),
		"config": sha256Hex([]byte("b=2")), "staged": staged.SHA256, "orphan": orphan}

	sweep := func(advance time.Duration, want ...string) {
		t.Helper()
		ts.clock.Advance(advance)
		if _, err := ts.CollectBlobs(context.Background(), grace); err != nil {
			t.Fatalf("CollectBlobs: %v", err)
		}
		for name, sha := range blobs {
			if got, keep := ts.stored(t, sha), contains1(want, name); got != keep {
				t.Errorf("after %s more: %s stored = %v, want %v", advance, name, got, keep)
			}
		}
	}
	all := []string{"package", "replaced config", "config", "staged", "orphan"}
	sweep(0, all...)
	sweep(grace-time.Minute, all...) // young: not a grace period old
	// The replaced config and the orphan were first seen unreferenced a
	// grace period ago. The staged upload expired (StagedUploadTTL): from
	// now on it is unreferenced.
	sweep(2*time.Minute, "package", "config", "staged")
	sweep(grace, "package", "config")
	ok(t, ts.DeleteVersion(ts.admin, "Py", "1.0"))
	sweep(time.Minute, "package", "config") // seen unreferenced now
	sweep(grace-time.Minute, "package", "config")
	sweep(time.Minute)
}

func contains1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestUploadWaitsForCollector: a collector has started deleting blob X
// (found unreferenced for the grace period) when an upload of the very
// same bytes arrives. The upload must not record a reference to an X the
// collector then deletes: it waits for the deletion, and stores X anew.
func TestUploadWaitsForCollector(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	pkg := packageFor(t, "python3", "print('again')")
	x := ts.putBlob(t, pkg)
	must(ts.CollectBlobs(context.Background(), time.Hour))(t)
	started := ts.clock.Advance(2 * time.Hour)
	// The collector's first step, as another replica takes it.
	err := ts.store.Update(context.Background(), func(tx driverhub.Tx) error {
		ok, err := tx.StartBlobDeletion(context.Background(), x, started.Add(-time.Hour), started.Add(-time.Hour), started)
		if err == nil && !ok {
			err = errors.New("the deletion did not start")
		}
		return err
	})
	ok(t, err)
	uploaded := make(chan error, 1)
	go func() {
		_, err := ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(pkg))
		uploaded <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the upload reach its claim
	ok(t, ts.blobs.Delete(context.Background(), x))
	ok(t, ts.store.Update(context.Background(), func(tx driverhub.Tx) error {
		return tx.FinishBlobDeletion(context.Background(), x, started)
	}))
	ok(t, <-uploaded)
	if got := readAll(t, must(ts.OpenPackage(ts.admin, "Py", "1.0"))(t)); !bytes.Equal(got, pkg) {
		t.Error("the package uploaded during a deletion of the same bytes is not there")
	}
}

func TestTenantQuota(t *testing.T) {
	t.Parallel()
	one := packageFor(t, "python3", strings.Repeat("1", 100))
	quota := int64(2*len(one) + len(one)/2)
	ts := newTestService(t, func(c *service.Config) { c.TenantQuota = quota })
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	for _, v := range []string{"1", "2", "3", "4"} {
		ts.newVersion(t, ts.admin, "Py", v)
	}
	must(ts.PutPackage(ts.admin, "Py", "1", "", bytes.NewReader(one)))(t)
	must(ts.PutPackage(ts.admin, "Py", "2", "", bytes.NewReader(one)))(t) // the same bytes: counted once
	two := packageFor(t, "python3", strings.Repeat("2", 100))
	must(ts.PutPackage(ts.admin, "Py", "2", "", bytes.NewReader(two)))(t)
	view := must(ts.GetTenant(ts.admin))(t)
	if view.Quota.LimitBytes == nil || *view.Quota.LimitBytes != quota || view.Quota.UsedBytes != int64(len(one)+len(two)) {
		t.Errorf("GetTenant quota = %+v (limit %v), want %d of %d used", view.Quota, view.Quota.LimitBytes, len(one)+len(two), quota)
	}
	three := packageFor(t, "python3", strings.Repeat("3", 100))
	_, err := ts.PutPackage(ts.admin, "Py", "3", "", bytes.NewReader(three))
	e := wantErr(t, err, driverhub.EQuotaExceeded, "")
	contains(t, "quota message", e.Message, "quota")
	if ts.stored(t, sha256Hex(three)) {
		t.Error("the upload over quota was stored")
	}
	must(ts.PutPackage(ts.admin, "Py", "4", "", bytes.NewReader(one)))(t) // already counted
	ok(t, ts.DeleteVersion(ts.admin, "Py", "2"))
	must(ts.PutPackage(ts.admin, "Py", "3", "", bytes.NewReader(three)))(t)
	// Another tenant has its own quota.
	other := ts.tenantCtx(t, "globex")
	ts.newDriver(t, other, driverIn("Py", "python3"))
	ts.newVersion(t, other, "Py", "1")
	must(ts.PutPackage(other, "Py", "1", "", bytes.NewReader(two)))(t)
}

func TestGetTenantWithoutQuota(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	v := must(ts.GetTenant(ts.admin))(t)
	if v.Name != "default" || v.Quota.LimitBytes != nil || v.Quota.UsedBytes != 0 {
		t.Errorf("GetTenant = %+v", v)
	}
	_, err := ts.GetTenant(context.Background())
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestCheckBlobs(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	ts.newVersion(t, ts.admin, "Py", "2.0")
	good, lost := storedZip(t, 100<<10), packageFor(t, "python3", "lost")
	must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(good)))(t)
	must(ts.PutPackage(ts.admin, "Py", "2.0", "", bytes.NewReader(lost)))(t)
	ts.putBlob(t, []byte("fine"))
	ts.flipBlob(t, sha256Hex(good))
	ok(t, ts.blobs.Delete(context.Background(), sha256Hex(lost)))

	check := func(repair service.RepairSource) (service.BlobCheck, map[string]service.BlobProblem) {
		t.Helper()
		found := map[string]service.BlobProblem{}
		sum, err := ts.CheckBlobs(context.Background(), repair, func(p service.BlobProblem) { found[p.SHA256] = p })
		ok(t, err)
		return sum, found
	}
	sum, found := check(nil)
	if sum.Checked != 2 || sum.Referenced != 2 || sum.Problems != 2 {
		t.Errorf("CheckBlobs = %+v, want 2 checked, 2 referenced, 2 problems", sum)
	}
	if p := found[sha256Hex(good)]; p.Missing || p.Detail == "" || p.Repaired {
		t.Errorf("the corrupt blob: %+v", p)
	}
	if p := found[sha256Hex(lost)]; !p.Missing {
		t.Errorf("the missing blob: %+v", p)
	}
	copies := map[string][]byte{sha256Hex(good): good, sha256Hex(lost): lost}
	repair := func(_ context.Context, sha string) (io.ReadCloser, error) {
		if b, ok := copies[sha]; ok {
			return io.NopCloser(bytes.NewReader(b)), nil
		}
		return nil, driverhub.ErrNotFound
	}
	sum, found = check(repair)
	if sum.Problems != 0 || !found[sha256Hex(good)].Repaired || !found[sha256Hex(lost)].Repaired {
		t.Errorf("CheckBlobs with good copies = %+v, %+v", sum, found)
	}
	if sum, _ := check(nil); sum.Problems != 0 {
		t.Errorf("CheckBlobs after the repair = %+v", sum)
	}
	if got := readAll(t, must(ts.OpenPackage(ts.admin, "Py", "2.0"))(t)); !bytes.Equal(got, lost) {
		t.Error("the repaired package downloads wrong")
	}
}
