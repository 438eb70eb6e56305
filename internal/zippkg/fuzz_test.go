package zippkg_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// seeds are the packages both fuzz targets start from: good ones, and
// each kind of refusal.
func seeds(f *testing.F) [][]byte {
	sets := [][]ent{
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
		// A wrong CRC, a CRC of zero, sizes over- and understated, with
		// and without a data descriptor.
		{file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store, crc: 7, usize: 5}},
		{file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store, usize: 5}},
		{file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store, crc: crc32.ChecksumIEEE([]byte("hello")), usize: 9}},
		{file("index.py", "1"), ent{name: "z", body: string(zeroDeflate(f, 2)), raw: true, method: zip.Deflate, usize: 1000}},
		{file("index.py", "1"), ent{name: "z", body: string(zeroDeflate(f, 2)), raw: true, method: zip.Deflate, flags: 0x8, usize: 1000}},
	}
	var out [][]byte
	for _, s := range sets {
		out = append(out, makeZip(f, s...))
	}
	out = append(out, realZip(f, zip.Store, [2]string{"index.py", "1"}, [2]string{"data", string(random(3000))}))
	out = append(out, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), []byte("not a zip"))
	return out
}

// FuzzCheck runs Check in memory, and a Scanner over the same bytes cut
// in pieces of a fuzzed size: both must give the same verdict, and only
// ever a *driverhub.Error.
func FuzzCheck(f *testing.F) {
	for i, s := range seeds(f) {
		f.Add(s, uint8(i), uint16(1000))
	}
	lim := zippkg.Limits{MaxBytes: 1 << 20, MaxEntries: 100, MaxUnpacked: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, rt uint8, piece uint16) {
		runtime := driverhub.AllRuntimes[int(rt)%len(driverhub.AllRuntimes)]
		_, err := zippkg.Check(bytes.NewReader(data), int64(len(data)), runtime, lim)
		if err != nil {
			if _, ok := driverhub.AsError(err); !ok {
				t.Fatalf("Check returned %T %v, want *driverhub.Error", err, err)
			}
		}
		// Cut anywhere, but in at most 64 pieces: each is a hand-over
		// between goroutines, and the fuzzer wants thousands of runs a second.
		_, serr := scan(data, runtime, lim, max(int(piece)+1, len(data)/64))
		if fmt.Sprint(err) != fmt.Sprint(serr) {
			t.Fatalf("Check: %v; Scanner.Check: %v", err, serr)
		}
	})
}

// FuzzUnpack unpacks what Check accepts to disk, and checks that nothing
// lands outside the target.
func FuzzUnpack(f *testing.F) {
	for i, s := range seeds(f) {
		f.Add(s, uint8(i))
	}
	lim := zippkg.Limits{MaxBytes: 1 << 20, MaxEntries: 100, MaxUnpacked: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, rt uint8) {
		runtime := driverhub.AllRuntimes[int(rt)%len(driverhub.AllRuntimes)]
		if _, err := zippkg.Check(bytes.NewReader(data), int64(len(data)), runtime, lim); err != nil {
			return
		}
		// Nest the target so anything written beside it shows up.
		base := t.TempDir()
		parent := filepath.Join(base, "parent")
		if err := os.Mkdir(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(parent, "pkg")
		err := unpack(t, data, runtime, lim, dst)
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
