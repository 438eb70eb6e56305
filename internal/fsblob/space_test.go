//go:build linux

package fsblob_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/testenv"
)

// tmpfs mounts a tmpfs of size bytes for the test: a real filesystem that
// fills up.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	testenv.Root(t, "mounts a small tmpfs to fill it")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestFullDiskIsNoSpace(t *testing.T) {
	dir := tmpfs(t, "1m")
	s, err := fsblob.OpenWith(dir, fsblob.Options{MinFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(sb, bytes.NewReader(make([]byte, 2<<20)))
	sb.Discard()
	if !errors.Is(err, driverhub.ErrNoSpace) || driverhub.ErrorCode(err) != driverhub.EInsufficientStore {
		t.Fatalf("writing 2 MiB to a 1 MiB disk: %v, want ErrNoSpace", err)
	}
	if left := names(t, filepath.Join(dir, ".tmp")); len(left) != 0 {
		t.Errorf("a failed stage left %q", left)
	}
}

func TestMinFreeKept(t *testing.T) {
	dir := tmpfs(t, "4m")
	s, err := fsblob.OpenWith(dir, fsblob.Options{MinFree: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping with 4 MiB free: %v", err)
	}
	put(t, s, make([]byte, 1<<20+1)) // leaves less than 3 MiB free
	if err := s.Ping(t.Context()); !errors.Is(err, driverhub.ErrNoSpace) {
		t.Errorf("Ping below MinFree: %v, want ErrNoSpace", err)
	}
	if sb, err := s.Stage(t.Context()); !errors.Is(err, driverhub.ErrNoSpace) {
		if sb != nil {
			sb.Discard()
		}
		t.Errorf("Stage below MinFree: %v, want ErrNoSpace", err)
	}
}

func TestVerifiedBlobIsTheFile(t *testing.T) {
	dir := t.TempDir()
	b := bytes.Repeat([]byte("sendfile "), 10000)
	key := put(t, open(t, dir), b)
	isFile := func(s *fsblob.Store) bool {
		t.Helper()
		rc, _, err := s.Open(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, ok := rc.(*os.File)
		return ok
	}
	s := open(t, dir) // another process: it knows nothing verified
	if isFile(s) {
		t.Fatal("a blob never verified by this store is opened as the plain file")
	}
	rc, _, _ := s.Open(t.Context(), key)
	io.Copy(io.Discard, rc)
	rc.Close()
	if !isFile(s) {
		t.Error("a blob just verified is not opened as the plain file (no sendfile)")
	}
	flip(t, filepath.Join(dir, key[:2], key))
	if isFile(s) {
		t.Error("a blob changed since it was verified is opened as the plain file")
	}
}
