package zippkg_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
)

func FuzzCheck(f *testing.F) {
	seeds := [][]ent{
		{file("index.py", "print(1)")},
		{exe("main", "\x7fELF"), file("lib/libx.so.1", "x"), link("lib/libx.so", "libx.so.1")},
		{file("index.js", "1"), dir("node_modules/"), link("node_modules/.bin/x", "../x/cli.js")},
		{file("main.jar", "PK"), stored("lib/a.jar", "PK")},
		{file("index.py", "1"), link("x", "../../etc/passwd")},
		{file("index.py", "1"), link("p/q/d", "../.."), link("p/q/e", "d/../x")},
		{file("index.py", "1"), file("../evil", "x")},
		{file("index.py", "1"), file("a", "x"), file("a/b", "y")},
		{file("index.py", "1"), file("index.py", "2")},
		{file("drv/index.py", "1")},
		{file("index.py", "1"), ent{name: "a", body: "xx", raw: true, method: 12, usize: 2}},
		{file("index.py", "1"), bomb(f, "bomb", 1<<16)},
	}
	for i, s := range seeds {
		f.Add(makeZip(f, s...), uint8(i))
	}
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), uint8(0))
	f.Add([]byte("not a zip"), uint8(2))

	lim := zippkg.Limits{MaxBytes: 1 << 20, MaxEntries: 100, MaxUnpacked: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, rt uint8) {
		runtime := driverhub.AllRuntimes[int(rt)%len(driverhub.AllRuntimes)]
		_, err := check(t, data, runtime, lim)
		if err != nil {
			if _, ok := driverhub.AsError(err); !ok {
				t.Fatalf("Check returned %T %v, want *driverhub.Error", err, err)
			}
			return
		}
		// Nest the target so anything written beside it shows up.
		base := t.TempDir()
		parent := filepath.Join(base, "parent")
		if err := os.Mkdir(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(parent, "pkg")
		err = unpack(t, data, runtime, lim, dst)
		if got := names(t, base); len(got) != 1 || got[0] != "parent" {
			t.Fatalf("Unpack wrote beside its parent: %q", got)
		}
		got := names(t, parent)
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("failed Unpack (%v) left %q", err, got)
			}
			return
		}
		if len(got) != 1 || got[0] != "pkg" {
			t.Fatalf("Unpack left %q, want only pkg", got)
		}
		checkInside(t, dst)
	})
}

// checkInside fails if a symlink under dir resolves outside it.
func checkInside(t *testing.T, dir string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // dangling, or a loop the kernel gives up on
		}
		if r != real && !strings.HasPrefix(r, real+string(filepath.Separator)) {
			t.Errorf("symlink %s resolves to %s, outside %s", p, r, real)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
