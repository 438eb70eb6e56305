package zippkg_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
	"github.com/google/go-cmp/cmp"
)

func TestUnpack(t *testing.T) {
	// A restrictive umask must not change the modes.
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })

	data := makeZip(t,
		exe("main", "\x7fELF main"),
		dir("lib/"),
		file("lib/libx.so.1", "elf lib"),
		link("lib/libx.so", "libx.so.1"),
		exe("bin/run.sh", "#!/bin/sh\n"),
		link("bin/main", "../main"),
		file("conf/a/b.json", "{}"),
		dir("empty/"),
		stored("readme.txt", "hello"),
		link("current", "lib"),
	)
	dst := filepath.Join(t.TempDir(), "pkg")
	if err := unpack(t, data, "c", zippkg.Limits{}, dst); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	want := map[string]string{
		"main":          "file -rwxr-xr-x \x7fELF main",
		"lib":           "dir -rwxr-xr-x",
		"lib/libx.so.1": "file -rw-r--r-- elf lib",
		"lib/libx.so":   "link -> libx.so.1",
		"bin":           "dir -rwxr-xr-x",
		"bin/run.sh":    "file -rwxr-xr-x #!/bin/sh\n",
		"bin/main":      "link -> ../main",
		"conf":          "dir -rwxr-xr-x",
		"conf/a":        "dir -rwxr-xr-x",
		"conf/a/b.json": "file -rw-r--r-- {}",
		"empty":         "dir -rwxr-xr-x",
		"readme.txt":    "file -rw-r--r-- hello",
		"current":       "link -> lib",
	}
	if diff := cmp.Diff(want, tree(t, dst)); diff != "" {
		t.Errorf("unpacked tree mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("package dir mode = %v, want 0755", got)
	}
	if got := names(t, filepath.Dir(dst)); !cmp.Equal(got, []string{"pkg"}) {
		t.Errorf("parent holds %q, want only pkg (no temporary leftovers)", got)
	}
	// The links work once in place.
	if b, err := os.ReadFile(filepath.Join(dst, "bin", "main")); err != nil || string(b) != "\x7fELF main" {
		t.Errorf("reading through bin/main: %q, %v", b, err)
	}
}

func TestUnpackFailure(t *testing.T) {
	good := makeZip(t, file("index.py", "print(1)"))
	tests := []struct {
		name string
		data []byte
		lim  zippkg.Limits
		code string
		want []string
	}{
		{
			name: "check fails", data: makeZip(t, file("index.py", "1"), link("x", "../../etc/passwd")),
			code: driverhub.EInvalid, want: []string{`"x"`, "outside"},
		},
		{
			name: "zip bomb", data: makeZip(t, file("index.py", "1"), bomb(t, "bomb.bin", 8<<20)),
			lim: zippkg.Limits{MaxUnpacked: 1 << 20}, code: driverhub.EInvalid, want: []string{`"bomb.bin"`, "more data than its header declares"},
		},
		{
			name: "bad checksum", data: makeZip(t, file("index.py", "1"), ent{name: "a.txt", body: "hello", raw: true, crc: 1, usize: 5}),
			code: driverhub.EInvalid, want: []string{`"a.txt"`, "corrupt"},
		},
		{
			name: "short data", data: makeZip(t, file("index.py", "1"), ent{name: "a.txt", body: "hello", raw: true, usize: 50}),
			code: driverhub.EInvalid, want: []string{`"a.txt"`, "corrupt"},
		},
		{name: "too large", data: good, lim: zippkg.Limits{MaxBytes: 10}, code: driverhub.ETooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "pkg")
			err := unpack(t, tt.data, py, tt.lim, dst)
			wantErr(t, err, tt.code, "package", tt.want...)
			if got := names(t, parent); len(got) != 0 {
				t.Errorf("parent holds %q after a failed Unpack, want nothing", got)
			}
		})
	}
}

func TestZipBombRefusedByCheckAndUnpack(t *testing.T) {
	// The header lies: Check inflates the entry and stops past the
	// declared size; Unpack counts what it writes.
	data := makeZip(t, file("index.py", "1"), bomb(t, "bomb.bin", 64<<20))
	lim := zippkg.Limits{MaxUnpacked: 1 << 20}
	_, err := check(t, data, py, lim)
	wantErr(t, err, driverhub.EInvalid, "package", `"bomb.bin"`, "more data than its header declares (100 bytes)")
	parent := t.TempDir()
	err = unpack(t, data, py, lim, filepath.Join(parent, "pkg"))
	wantErr(t, err, driverhub.EInvalid, "package", `"bomb.bin"`)
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("parent holds %q, want nothing", got)
	}
}

func TestUnpackExistingDir(t *testing.T) {
	data := makeZip(t, file("index.py", "print(1)"))
	for _, name := range []string{"dir", "file"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "pkg")
			var err error
			if name == "dir" {
				err = os.Mkdir(dst, 0o755)
			} else {
				err = os.WriteFile(dst, []byte("keep"), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			before := tree(t, parent)
			err = unpack(t, data, py, zippkg.Limits{}, dst)
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("Unpack into an existing %s: %v, want an already-exists error", name, err)
			}
			if diff := cmp.Diff(before, tree(t, parent)); diff != "" {
				t.Errorf("Unpack changed the parent (-before +after):\n%s", diff)
			}
		})
	}
}

func TestUnpackMissingParent(t *testing.T) {
	data := makeZip(t, file("index.py", "print(1)"))
	dst := filepath.Join(t.TempDir(), "no", "such", "pkg")
	if err := zippkg.Unpack(bytes.NewReader(data), int64(len(data)), py, zippkg.Limits{}, dst); err == nil {
		t.Fatal("Unpack with a missing parent succeeded")
	}
}

func TestUnpackChecksZeroCRC(t *testing.T) {
	// archive/zip skips a CRC of 0; the gateway must not.
	data := makeZip(t, file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: 0, usize: 5})
	parent := t.TempDir()
	err := unpack(t, data, py, zippkg.Limits{}, filepath.Join(parent, "pkg"))
	wantErr(t, err, driverhub.EInvalid, "package", `"a"`, "CRC-32")
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("parent holds %q, want nothing", got)
	}
}
