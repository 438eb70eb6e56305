package zippkg_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/zippkg"
	"github.com/google/go-cmp/cmp"
)

// writeTree creates a driver directory under root.
func writeTree(tb testing.TB, root string) {
	tb.Helper()
	files := []struct {
		name string
		body string
		mode os.FileMode
	}{
		{"index.py", "import lib.x\n", 0o644},
		{"run.sh", "#!/bin/sh\nexec python3 index.py\n", 0o755},
		{"lib/x.py", "X = 1\n", 0o600},
		{"lib/data/big.bin", string(bytes.Repeat([]byte("0123456789"), 10000)), 0o644},
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink("x.py", filepath.Join(root, "lib", "y.py")); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink("lib", filepath.Join(root, "current")); err != nil {
		tb.Fatal(err)
	}
}

func zipDir(tb testing.TB, dir string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := zippkg.ZipDir(dir, &buf); err != nil {
		tb.Fatalf("ZipDir: %v", err)
	}
	return buf.Bytes()
}

func TestZipDirRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src)
	data := zipDir(t, src)

	sum, err := check(t, data, py, zippkg.DefaultLimits())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	// index.py run.sh lib/ lib/x.py lib/data/ lib/data/big.bin lib/y.py empty/ current
	if sum.Entries != 9 {
		t.Errorf("Entries = %d, want 9", sum.Entries)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if err := unpack(t, data, py, zippkg.DefaultLimits(), dst); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	want := tree(t, src)
	// Modes are normalized: dirs 0755, files 0644 unless executable.
	want["lib/x.py"] = "file -rw-r--r-- X = 1\n"
	want["empty"] = "dir -rwxr-xr-x"
	if diff := cmp.Diff(want, tree(t, dst)); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestZipDirDeterministic(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	writeTree(t, a)
	first := zipDir(t, a)
	if second := zipDir(t, a); !bytes.Equal(first, second) {
		t.Error("zipping the same directory twice gave different bytes")
	}

	// The same tree elsewhere, with other timestamps, gives the same bytes.
	b := filepath.Join(t.TempDir(), "b")
	writeTree(t, b)
	old := time.Date(2011, 3, 4, 5, 6, 7, 0, time.Local)
	if err := os.Chtimes(filepath.Join(b, "index.py"), old, old); err != nil {
		t.Fatal(err)
	}
	if other := zipDir(t, b); !bytes.Equal(first, other) {
		t.Error("zipping an identical tree gave different bytes")
	}
}

func TestZipDirSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	writeTree(t, src)
	if err := os.Symlink("src", filepath.Join(base, "alias")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(zipDir(t, src), zipDir(t, filepath.Join(base, "alias"))) {
		t.Error("zipping through a symlinked root gave different bytes")
	}
}

func TestZipDirErrors(t *testing.T) {
	base := t.TempDir()
	f := filepath.Join(base, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"missing": filepath.Join(base, "nope"), "not a dir": f} {
		t.Run(name, func(t *testing.T) {
			if err := zippkg.ZipDir(dir, new(bytes.Buffer)); err == nil {
				t.Errorf("ZipDir(%s) succeeded", dir)
			}
		})
	}
}
