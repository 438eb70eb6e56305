package fsblob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	blobtest.Run(t, func(t testing.TB) blobtest.Store {
		dir := t.TempDir()
		return blobtest.Store{BlobStore: open(t, dir), Leftovers: func(t testing.TB) []string {
			return names(t, filepath.Join(dir, ".tmp"))
		}, Corrupt: func(t testing.TB, key string) { flip(t, filepath.Join(dir, key[:2], key)) }}
	})
}

func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// put stages b and commits it under its digest.
func put(t *testing.T, s *fsblob.Store, b []byte) string {
	t.Helper()
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Discard()
	if _, err := sb.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := sb.Commit(t.Context(), keyOf(b)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return keyOf(b)
}

// names lists the entries of dir.
func names(t testing.TB, dir string) []string {
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
	for _, d := range []string{dir, filepath.Join(dir, ".tmp"), filepath.Join(dir, "00"), filepath.Join(dir, "ff")} {
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			t.Errorf("%s: %v, want a directory", d, err)
		}
	}
	b := []byte("hello")
	key := put(t, s, b)
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
	tmp := filepath.Join(dir, ".tmp")
	open(t, dir)
	old := time.Now().Add(-time.Hour)
	stale := []string{"stage-123", "upload-456"}
	for _, name := range stale {
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	staleDir := filepath.Join(tmp, "spool-dir")
	if err := os.MkdirAll(filepath.Join(staleDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(staleDir, old, old); err != nil {
		t.Fatal(err)
	}
	// A file written just now may belong to a stage still open elsewhere.
	if err := os.WriteFile(filepath.Join(tmp, "stage-fresh"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	open(t, dir)
	if diff := cmp.Diff([]string{"stage-fresh"}, names(t, tmp)); diff != "" {
		t.Errorf("temp dir after Open (-want +got):\n%s", diff)
	}
}

// A stage is one file in dir/.tmp, on the blobs' filesystem, holding what
// was written: what a crash leaves, and what Open later removes.
func TestStageIsATempFile(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp")
	s := open(t, dir)
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Discard()
	b := bytes.Repeat([]byte("staged"), 1000)
	if _, err := sb.Write(b); err != nil {
		t.Fatal(err)
	}
	files := names(t, tmp)
	if len(files) != 1 {
		t.Fatalf("temp dir while staging = %q, want one file", files)
	}
	if got, err := os.ReadFile(filepath.Join(tmp, files[0])); err != nil || !bytes.Equal(got, b) {
		t.Errorf("temp file holds %d bytes (%v), want the %d written", len(got), err, len(b))
	}
	sb.Discard()
	if got := names(t, tmp); len(got) != 0 {
		t.Errorf("temp dir after Discard = %q, want empty", got)
	}
}

// A stage whose file was removed underneath (by another process's Open,
// say) fails to commit, and stores nothing.
func TestCommitAfterTempFileVanished(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp")
	s := open(t, dir)
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Discard()
	b := []byte("vanishing")
	sb.Write(b)
	for _, name := range names(t, tmp) {
		if err := os.Remove(filepath.Join(tmp, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sb.Commit(t.Context(), keyOf(b)); err == nil {
		t.Error("Commit of a removed temp file succeeded")
	}
	if _, err := s.Stat(t.Context(), keyOf(b)); !errors.Is(err, driverhub.ErrNotFound) {
		t.Errorf("Stat after failed Commit = %v, want ErrNotFound", err)
	}
}

func TestOpenReturnsOSFile(t *testing.T) {
	s := open(t, t.TempDir())
	key := put(t, s, []byte("sendfile me"))
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
	// The temporary file is created 0600, then committed 0644.
	key := put(t, s, []byte("mode"))
	info, err := os.Stat(filepath.Join(dir, key[:2], key))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode(); got != 0o644 {
		t.Errorf("blob mode = %v, want -rw-r--r--", got)
	}
	// Directories get 0755 less the umask: never more.
	for _, d := range []string{dir, filepath.Join(dir, ".tmp"), filepath.Join(dir, key[:2])} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); !info.IsDir() || perm&^0o755 != 0 || perm&0o700 != 0o700 {
			t.Errorf("%s mode = %v, want a directory with at most rwxr-xr-x, at least rwx------", d, info.Mode())
		}
	}
}

func TestCommitRecreatesMissingPrefixDir(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	b := []byte("prefix")
	key := keyOf(b)
	if err := os.Remove(filepath.Join(dir, key[:2])); err != nil {
		t.Fatal(err)
	}
	put(t, s, b)
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

// flip changes the byte in the middle of a file, in place.
func flip(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, info.Size()/2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, info.Size()/2); err != nil {
		t.Fatal(err)
	}
}
