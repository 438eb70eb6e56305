package httpapi_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/s3blob"
	"github.com/driverhub/driverhub/internal/testenv"
)

// randomPackage is a python3 package holding n random bytes, stored: it
// does not compress.
func randomPackage(t testing.TB, seed uint64, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("print(1)\n"))
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	w.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// corruptBlob changes one byte of a stored blob where the store keeps it.
func corruptBlob(t testing.TB, s *apitest.Server, sha string) {
	t.Helper()
	switch b := s.Blobs.(type) {
	case *fsblob.Store:
		path := filepath.Join(b.Dir(), sha[:2], sha)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data[100] ^= 1
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	case *s3blob.Store:
		c := b.Config()
		cl, err := minio.New(c.Endpoint, &minio.Options{Secure: c.Secure, Region: c.Region, BucketLookup: minio.BucketLookupPath,
			Creds: credentials.NewEnvAWS()})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := cl.GetObject(t.Context(), c.Bucket, c.Prefix+sha, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		data[100] ^= 1
		if _, err := cl.PutObject(t.Context(), c.Bucket, c.Prefix+sha, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("cannot corrupt a blob of a %T", s.Blobs)
	}
}

// get sends a GET and reads the body, returning the read error too.
func get(t testing.TB, s *apitest.Server, path, rangeHeader string) (*http.Response, []byte, error) {
	t.Helper()
	req := request(t, s, "GET", path, s.AdminToken, nil)
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestAPICorruptPackageNeverDownloaded(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	newVersion(t, s, s.AdminToken, "Py", "1.0")
	pkg := randomPackage(t, 1, 300<<10)
	s.Must(t, http.StatusOK, "PUT", versionPath("Py", "1.0")+"/package", s.AdminToken, bytes.NewReader(pkg))
	path := versionPath("Py", "1.0") + "/package"
	if _, body, err := get(t, s, path, ""); err != nil || !bytes.Equal(body, pkg) {
		t.Fatalf("download before any corruption: %d bytes, %v", len(body), err)
	}
	corruptBlob(t, s, sha256Hex(pkg))

	resp, body, err := get(t, s, path, "")
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("download of a corrupt package: status %d, %d of %d bytes, read error %v; want the transfer cut",
			resp.StatusCode, len(body), len(pkg), err)
	}
	if len(body) >= len(pkg) {
		t.Errorf("a corrupt package was delivered whole (%d bytes)", len(body))
	}
	resp, body, _ = get(t, s, path, "bytes=200000-200099")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("range of a corrupt package: status %d with %d bytes, want 500", resp.StatusCode, len(body))
	}

	// The same bytes uploaded again repair it.
	s.Must(t, http.StatusOK, "PUT", path, s.AdminToken, bytes.NewReader(pkg))
	if _, body, err := get(t, s, path, ""); err != nil || !bytes.Equal(body, pkg) {
		t.Errorf("download after the upload that repairs: %d bytes, %v", len(body), err)
	}
}

func TestAPITenantQuota(t *testing.T) {
	one, two := randomPackage(t, 1, 10<<10), randomPackage(t, 2, 10<<10)
	quota := int64(len(one) + len(two)/2)
	s := apitest.New(t, apitest.Options{TenantQuota: quota})
	newDriver(t, s, s.AdminToken, "Py", "python3")
	newVersion(t, s, s.AdminToken, "Py", "1")
	newVersion(t, s, s.AdminToken, "Py", "2")
	tenant := func() map[string]any {
		return object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/tenant", s.AdminToken, nil))
	}
	diff(t, "tenant before uploads", map[string]any{"name": "default",
		"quota": map[string]any{"limit_bytes": float64(quota), "used_bytes": float64(0)}, "require_signed_drivers": false}, tenant())
	s.Must(t, http.StatusOK, "PUT", versionPath("Py", "1")+"/package", s.AdminToken, bytes.NewReader(one))
	e := wantError(t, s.Do(t, "PUT", versionPath("Py", "2")+"/package", s.AdminToken, bytes.NewReader(two)),
		http.StatusInsufficientStorage, "quota_exceeded", "")
	if !strings.Contains(e.Message, "quota") {
		t.Errorf("message %q does not say quota", e.Message)
	}
	diff(t, "tenant after uploads", map[string]any{"name": "default",
		"quota": map[string]any{"limit_bytes": float64(quota), "used_bytes": float64(len(one))}, "require_signed_drivers": false}, tenant())
	viewer := s.Token(t, s.AdminToken, "viewer")
	s.Must(t, http.StatusOK, "GET", "/api/v1/tenant", viewer, nil)
	wantError(t, s.Do(t, "GET", "/api/v1/tenant", "", nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestAPITenantWithoutQuota(t *testing.T) {
	s := apitest.New(t)
	diff(t, "tenant", map[string]any{"name": "default", "quota": map[string]any{"limit_bytes": nil, "used_bytes": float64(0)}, "require_signed_drivers": false},
		object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/tenant", s.AdminToken, nil)))
}

// TestAPIFullDisk runs the server on a small tmpfs (its SQLite file, its
// blobs or its S3 spool) and fills it with uploads.
func TestAPIFullDisk(t *testing.T) {
	testenv.Root(t, "mounts a small tmpfs as the server's data directory")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=100m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	s := apitest.New(t, apitest.Options{DataDir: dir})
	newDriver(t, s, s.AdminToken, "Py", "python3")
	s.Must(t, http.StatusOK, "GET", "/readyz", "", nil)
	_, onS3 := s.Blobs.(*s3blob.Store)
	if onS3 {
		// Blobs go to the bucket; only the upload spool is on this disk.
		fill(t, dir, driverhub.MinFreeDiskBytes/2)
	}
	var r *apitest.Response
	uploaded := 0
	for i := range 10 {
		v := string(rune('a' + i))
		newVersion(t, s, s.AdminToken, "Py", v)
		r = s.Do(t, "PUT", versionPath("Py", v)+"/package", s.AdminToken, bytes.NewReader(randomPackage(t, uint64(i), 3<<20)))
		if r.Status != http.StatusOK {
			break
		}
		uploaded++
	}
	wantError(t, r, http.StatusInsufficientStorage, "insufficient_storage", "")
	if uploaded == 0 && !onS3 {
		t.Fatal("no upload fitted on the disk")
	}
	ready := s.Do(t, "GET", "/readyz", "", nil)
	if ready.Status != http.StatusServiceUnavailable || !strings.Contains(string(ready.Body), "free") {
		t.Errorf("/readyz on a full disk: %d %s, want 503 saying how much is free", ready.Status, ready.Body)
	}
	// Fill the rest to the last byte: deleting drafts still works.
	newVersion(t, s, s.AdminToken, "Py", "z")
	fill(t, dir, 0)
	s.Must(t, http.StatusNoContent, "DELETE", versionPath("Py", "a"), s.AdminToken, nil)
	wantError(t, s.Do(t, "PUT", versionPath("Py", "z")+"/package", s.AdminToken, bytes.NewReader(pyPackage(t, "print(2)\n"))),
		http.StatusInsufficientStorage, "insufficient_storage", "")
}

// fill writes a file in dir until the filesystem has at most left bytes
// free (0: until it is full).
func fill(t *testing.T, dir string, left int64) {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*st.Bsize - left
	if left == 0 {
		n += 1 << 20 // past the end, to be sure
	}
	_, err = io.Copy(f, io.LimitReader(zeros{}, n))
	if err != nil && !(left == 0 && errors.Is(err, unix.ENOSPC)) {
		t.Fatalf("filling the disk: %v", err)
	}
}
