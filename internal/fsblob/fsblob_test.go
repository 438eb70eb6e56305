package fsblob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/blobtest"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/google/go-cmp/cmp"
)

func open(t testing.TB, dir string) *fsblob.Store {
	t.Helper()
	s, err := fsblob.Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t testing.TB) driverhub.BlobStore {
		return open(t, t.TempDir())
	})
}

func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "blobs")
	s := open(t, dir)
	if got, want := s.TempDir(), filepath.Join(dir, ".tmp"); got != want {
		t.Errorf("TempDir() = %s, want %s", got, want)
	}
	for _, d := range []string{dir, s.TempDir(), filepath.Join(dir, "00"), filepath.Join(dir, "ff")} {
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			t.Errorf("%s: %v, want a directory", d, err)
		}
	}
	b := []byte("hello")
	key := keyOf(b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, key[:2], key))
	if err != nil {
		t.Fatalf("blob not at dir/<2 hex>/<key>: %v", err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("file content (-want +got):\n%s", diff)
	}
	// Reopening finds the blob.
	if n, err := open(t, dir).Stat(t.Context(), key); err != nil || n != int64(len(b)) {
		t.Errorf("Stat after reopen = %d, %v", n, err)
	}
}

func TestOpenNotADirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fsblob.Open(path); err == nil {
		t.Error("Open(a regular file) succeeded")
	}
	if _, err := fsblob.Open(""); err == nil {
		t.Error(`Open("") succeeded`)
	}
}

func TestOpenRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	old := time.Now().Add(-time.Hour)
	stale := []string{"put-123", "upload-456"}
	for _, name := range stale {
		path := filepath.Join(s.TempDir(), name)
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	staleDir := filepath.Join(s.TempDir(), "spool-dir")
	if err := os.MkdirAll(filepath.Join(staleDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(staleDir, old, old); err != nil {
		t.Fatal(err)
	}
	// A file written just now may belong to a Put still running elsewhere.
	if err := os.WriteFile(filepath.Join(s.TempDir(), "put-fresh"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	if diff := cmp.Diff([]string{"put-fresh"}, names(t, s.TempDir())); diff != "" {
		t.Errorf("temp dir after Open (-want +got):\n%s", diff)
	}
}

// interruptedReader yields n bytes, then fails like a dropped connection.
type interruptedReader struct{ n int }

func (r *interruptedReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestInterruptedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const size = 1 << 20
	key := keyOf(make([]byte, size))
	err := s.Put(t.Context(), key, &interruptedReader{n: size / 2}, size)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put error = %v, want it to wrap io.ErrUnexpectedEOF", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, key[:2], key)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file under key after failed Put: Lstat error = %v", err)
	}
	if got := names(t, s.TempDir()); len(got) != 0 {
		t.Errorf("temp files left after failed Put: %v", got)
	}

	// The same for a digest mismatch.
	err = s.Put(t.Context(), key, bytes.NewReader(make([]byte, size-1)), size-1)
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("Put(wrong content) error = %v, want ErrBlobCheck", err)
	}
	if got := names(t, s.TempDir()); len(got) != 0 {
		t.Errorf("temp files left after failed Put: %v", got)
	}
}

func TestOpenReturnsOSFile(t *testing.T) {
	s := open(t, t.TempDir())
	b := []byte("sendfile me")
	key := keyOf(b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", rc)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "blobs")
	s := open(t, dir)
	b := []byte("mode")
	key := keyOf(b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	adopted := []byte("adopted")
	spool, err := os.CreateTemp(s.TempDir(), "upload-*") // mode 0600
	if err != nil {
		t.Fatal(err)
	}
	spool.Write(adopted)
	spool.Close()
	if err := s.AdoptFile(t.Context(), keyOf(adopted), spool.Name()); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{key, keyOf(adopted)} {
		info, err := os.Stat(filepath.Join(dir, key[:2], key))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode(); got != 0o644 {
			t.Errorf("blob mode = %v, want -rw-r--r--", got)
		}
	}
	// Directories get 0755 less the umask: never more.
	for _, d := range []string{dir, s.TempDir(), filepath.Join(dir, key[:2])} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); !info.IsDir() || perm&^0o755 != 0 || perm&0o700 != 0o700 {
			t.Errorf("%s mode = %v, want a directory with at most rwxr-xr-x, at least rwx------", d, info.Mode())
		}
	}
}

func TestAdoptFileMissingSource(t *testing.T) {
	s := open(t, t.TempDir())
	key := keyOf([]byte("x"))
	if err := s.AdoptFile(t.Context(), key, filepath.Join(s.TempDir(), "absent")); err == nil {
		t.Error("AdoptFile(absent path) succeeded")
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, driverhub.ErrNotFound) {
		t.Errorf("Stat after failed AdoptFile = %v, want ErrNotFound", err)
	}
}

func TestPutRecreatesMissingPrefixDir(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	b := []byte("prefix")
	key := keyOf(b)
	if err := os.Remove(filepath.Join(dir, key[:2])); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Stat(t.Context(), key); err != nil || n != int64(len(b)) {
		t.Errorf("Stat = %d, %v", n, err)
	}
}

func TestPingFailsWhenDirGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := open(t, dir)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded with the directory gone")
	}
}
