package zippkg_test

import (
	"bytes"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
	"github.com/google/go-cmp/cmp"
)

const py = driverhub.RuntimePython3

func TestDefaultLimits(t *testing.T) {
	want := zippkg.Limits{MaxBytes: 52428800, MaxEntries: 10000, MaxUnpacked: 512 << 20}
	if diff := cmp.Diff(want, zippkg.DefaultLimits()); diff != "" {
		t.Errorf("DefaultLimits() mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckLimits(t *testing.T) {
	three := makeZip(t, file("index.py", "0123456789"), file("a", strings.Repeat("a", 20)), dir("d/"))
	n := int64(len(three))
	tests := []struct {
		name    string
		lim     zippkg.Limits
		code    string
		message []string
	}{
		{name: "entries at limit", lim: zippkg.Limits{MaxEntries: 3}},
		{name: "entries over limit", lim: zippkg.Limits{MaxEntries: 2}, code: driverhub.EInvalid,
			message: []string{"3 entries", "limit is 2"}},
		{name: "unpacked at limit", lim: zippkg.Limits{MaxUnpacked: 30}},
		{name: "unpacked over limit", lim: zippkg.Limits{MaxUnpacked: 29}, code: driverhub.EInvalid,
			message: []string{"29 bytes", `"a"`}},
		{name: "compressed at limit", lim: zippkg.Limits{MaxBytes: n}},
		{name: "compressed over limit", lim: zippkg.Limits{MaxBytes: n - 1}, code: driverhub.ETooLarge,
			message: []string{"limit is " + strconv.FormatInt(n-1, 10) + " bytes", "MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := check(t, three, py, tt.lim)
			if tt.code != "" {
				wantErr(t, err, tt.code, "package", tt.message...)
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff(zippkg.Summary{Entries: 3, UnpackedBytes: 30}, sum); diff != "" {
				t.Errorf("Summary mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckDefaultSizeLimit(t *testing.T) {
	// The size is refused before anything is read.
	_, err := zippkg.Check(bytes.NewReader(nil), driverhub.MaxPackageBytes+1, py, zippkg.DefaultLimits())
	wantErr(t, err, driverhub.ETooLarge, "package", "52428800 bytes (50 MiB)")
}

func TestCheckNotZip(t *testing.T) {
	good := makeZip(t, file("index.py", "print(1)"))
	tests := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not a zip file at all, just some text"),
		"truncated": good[:len(good)-10],
		"tar":       append([]byte("index.py\x00"), make([]byte, 1024)...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := check(t, data, py, zippkg.Limits{})
			wantErr(t, err, driverhub.EInvalid, "package", "not a valid zip")
		})
	}
}

func TestCheckPaths(t *testing.T) {
	entry := file("index.py", "print(1)")
	tests := []struct {
		name string
		ents []ent
		want []string // message parts; nil means accepted
	}{
		{name: "nested files and dirs", ents: []ent{dir("lib/"), file("lib/a.py", "x"), file("a/b/c d/é.txt", "y")}},
		{name: "explicit dir after implied", ents: []ent{file("a/b", "x"), dir("a/")}},
		{name: "absolute", ents: []ent{file("/etc/passwd", "x")}, want: []string{`"/etc/passwd"`, "absolute"}},
		{name: "drive letter", ents: []ent{file("C:/x.py", "x")}, want: []string{`"C:/x.py"`, "drive letter"}},
		{name: "drive letter relative", ents: []ent{file("c:x.py", "x")}, want: []string{`"c:x.py"`, "drive letter"}},
		{name: "dotdot first", ents: []ent{file("../x.py", "x")}, want: []string{`"../x.py"`, `".."`}},
		{name: "dotdot inside", ents: []ent{file("a/../../x.py", "x")}, want: []string{`"a/../../x.py"`, `".."`}},
		{name: "dotdot dir", ents: []ent{dir("a/../")}, want: []string{`"a/../"`, `".."`}},
		{name: "dotdot looking name is fine", ents: []ent{file("a/..b/c..", "x")}},
		{name: "backslash", ents: []ent{file(`lib\a.py`, "x")}, want: []string{`lib\\a.py`, "backslash"}},
		{name: "NUL", ents: []ent{file("a\x00b", "x")}, want: []string{`a\x00b`, "NUL"}},
		{name: "empty name", ents: []ent{file("", "x")}, want: []string{"entry #2", "empty name"}},
		{name: "root dir", ents: []ent{dir("/")}, want: []string{"entry #2", "empty name"}},
		{name: "double slash", ents: []ent{file("a//b", "x")}, want: []string{`"a//b"`, "not a clean path"}},
		{name: "dot segment", ents: []ent{file("./a", "x")}, want: []string{`"./a"`, "not a clean path"}},
		{name: "duplicate file", ents: []ent{file("a.py", "x"), file("a.py", "y")}, want: []string{`"a.py"`, "more than once"}},
		{name: "duplicate dir", ents: []ent{dir("d/"), dir("d/")}, want: []string{`"d"`, "more than once"}},
		{name: "duplicate file and dir", ents: []ent{file("d", "x"), dir("d/")}, want: []string{`"d"`, "more than once"}},
		{name: "duplicate entry file", ents: []ent{file("index.py", "y")}, want: []string{`"index.py"`, "more than once"}},
		{name: "inside a file", ents: []ent{file("a", "x"), file("a/b", "y")}, want: []string{`"a/b"`, `inside "a", which is a file`}},
		{name: "file over a dir", ents: []ent{file("a/b", "y"), file("a", "x")}, want: []string{`"a"`, "other entries are inside it"}},
		{name: "inside a symlink", ents: []ent{dir("sub/"), link("l", "sub"), file("l/x", "y")}, want: []string{`"l/x"`, "symlink"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, append([]ent{entry}, tt.ents...)...)
			_, err := check(t, data, py, zippkg.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantErr(t, err, driverhub.EInvalid, "package", tt.want...)
		})
	}
}

func TestCheckSymlinks(t *testing.T) {
	tests := []struct {
		name string
		ents []ent
		want []string // nil means accepted
	}{
		{name: "sibling", ents: []ent{file("lib/libx.so.1", "elf"), link("lib/libx.so", "libx.so.1")}},
		{name: "up and down", ents: []ent{link("bin/run", "../index.py")}},
		{name: "to a dir", ents: []ent{file("v2/run", "x"), link("current", "v2")}},
		{name: "to the root", ents: []ent{link("sub/root", "..")}},
		{name: "dot", ents: []ent{link("self", ".")}},
		{name: "dangling inside", ents: []ent{link("x", "missing/file")}},
		{name: "through another link", ents: []ent{file("v2/run", "x"), link("current", "v2"), link("bin/run", "../current/run")}},
		{name: "chain", ents: []ent{link("a", "b"), link("b", "c"), file("c", "x")}},
		{name: "target of 1024 bytes", ents: []ent{link("long", strings.Repeat("a/", 511)+"bb")}},
		{name: "parent escape", ents: []ent{link("x", "../outside")}, want: []string{`"x"`, `"../outside"`, "outside the package"}},
		{name: "deep escape", ents: []ent{link("a/b/x", "../../../etc")}, want: []string{`"a/b/x"`, "outside the package"}},
		{name: "escape via missing dir", ents: []ent{link("x", "nodir/../../y")}, want: []string{`"x"`, "outside the package"}},
		{name: "absolute", ents: []ent{link("x", "/etc/passwd")}, want: []string{`"x"`, `"/etc/passwd"`, "absolute"}},
		{name: "drive letter", ents: []ent{link("x", "C:/Windows")}, want: []string{`"x"`, "absolute"}},
		{name: "backslash", ents: []ent{link("x", `..\..\etc`)}, want: []string{`"x"`, "backslash"}},
		{name: "empty target", ents: []ent{link("x", "")}, want: []string{`"x"`, "empty target"}},
		{name: "NUL in target", ents: []ent{link("x", "a\x00b")}, want: []string{`"x"`, "NUL"}},
		{name: "target over 1024 bytes", ents: []ent{link("long", strings.Repeat("a", 1025))}, want: []string{`"long"`, "1024"}},
		{
			// Lexically p/q/r/d/../x is inside, but d is the root, so the
			// kernel would land outside.
			name: "escape through a link",
			ents: []ent{link("p/q/r/d", "../../.."), link("p/q/r/e", "d/../x")},
			want: []string{`"p/q/r/e"`, "outside the package"},
		},
		{name: "escape through a chain", ents: []ent{link("a", "b/.."), link("b", "sub/.."), link("sub/x", "..")}, want: []string{`"a"`, "outside"}},
		{name: "escape through chain to root", ents: []ent{link("s/up", ".."), link("s/t/up", "../up/../x")}, want: []string{`"s/t/up"`, "outside"}},
		{name: "loop", ents: []ent{link("a", "b"), link("b", "a")}, want: []string{`"a"`, "loop"}},
		{name: "self loop", ents: []ent{link("a", "a/x")}, want: []string{`"a"`, "loop"}},
		{name: "escaping link used by a later one", ents: []ent{link("bad", "../.."), link("ok", "bad")}, want: []string{`"bad"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, append([]ent{file("index.py", "print(1)")}, tt.ents...)...)
			_, err := check(t, data, py, zippkg.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantErr(t, err, driverhub.EInvalid, "package", tt.want...)
		})
	}
}

func TestCheckEntryKinds(t *testing.T) {
	tests := []struct {
		name string
		e    ent
		want []string // nil means accepted
	}{
		{name: "stored", e: stored("a.txt", "hello")},
		{name: "executable", e: exe("run.sh", "#!/bin/sh")},
		{name: "encrypted", e: ent{name: "secret.txt", body: "xx", raw: true, flags: 0x1, usize: 2}, want: []string{`"secret.txt"`, "encrypted"}},
		{name: "bzip2", e: ent{name: "a.bz2", body: "xx", raw: true, method: 12, usize: 2}, want: []string{`"a.bz2"`, "method 12"}},
		{name: "named pipe", e: ent{name: "fifo", mode: fs.ModeNamedPipe | 0o644}, want: []string{`"fifo"`, "named pipe"}},
		{name: "device", e: ent{name: "sda", mode: fs.ModeDevice | 0o644}, want: []string{`"sda"`, "device"}},
		{name: "socket", e: ent{name: "sock", mode: fs.ModeSocket | 0o644}, want: []string{`"sock"`, "socket"}},
		{name: "dir with symlink mode", e: ent{name: "d/", body: "", mode: fs.ModeSymlink | 0o777}, want: []string{`"d/"`, "directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, file("index.py", "print(1)"), tt.e)
			_, err := check(t, data, py, zippkg.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantErr(t, err, driverhub.EInvalid, "package", tt.want...)
		})
	}
}

func TestCheckEntryFile(t *testing.T) {
	tests := []struct {
		name    string
		runtime driverhub.Runtime
		ents    []ent
		field   string
		want    []string // nil means accepted
	}{
		{name: "c", runtime: "c", ents: []ent{exe("main", "\x7fELF"), file("lib/libx.so", "x")}},
		{name: "nodejs", runtime: "nodejs", ents: []ent{file("index.js", "1"), file("node_modules/x/index.js", "2")}},
		{name: "python3", runtime: "python3", ents: []ent{file("index.py", "1")}},
		{name: "java", runtime: "java", ents: []ent{file("main.jar", "PK"), file("lib/x.jar", "PK")}},
		{name: "c missing", runtime: "c", ents: []ent{file("index.py", "1")}, field: "package", want: []string{`"main"`, "top level", "c runtime"}},
		{name: "nodejs missing", runtime: "nodejs", ents: []ent{file("main.js", "1")}, field: "package", want: []string{`"index.js"`}},
		{name: "java missing", runtime: "java", ents: []ent{file("lib/x.jar", "1")}, field: "package", want: []string{`"main.jar"`}},
		{name: "empty package", runtime: py, field: "package", want: []string{`"index.py"`}},
		{name: "other runtime's file", runtime: py, ents: []ent{file("index.js", "1")}, field: "package", want: []string{`"index.py"`}},
		{
			name: "nested folder", runtime: py, ents: []ent{dir("mydriver/"), file("mydriver/index.py", "1")}, field: "package",
			want: []string{`"mydriver/index.py"`, "zip the contents of the folder", `"mydriver"`},
		},
		{
			name: "nested folder implied", runtime: "java", ents: []ent{file("drv/main.jar", "1")}, field: "package",
			want: []string{`"drv/main.jar"`, "not the folder itself"},
		},
		{name: "two levels down gives no hint", runtime: py, ents: []ent{file("a/b/index.py", "1")}, field: "package", want: []string{"no \"index.py\" at its top level;"}},
		{name: "entry file is a dir", runtime: py, ents: []ent{dir("index.py/")}, field: "package", want: []string{`"index.py"`, "is a directory"}},
		{name: "entry file is implied dir", runtime: py, ents: []ent{file("index.py/x", "1")}, field: "package", want: []string{"is a directory"}},
		{name: "entry file is a symlink", runtime: "c", ents: []ent{exe("bin/main", "x"), link("main", "bin/main")}, field: "package", want: []string{`"main"`, "symlink"}},
		{name: "unknown runtime", runtime: "ruby", ents: []ent{file("index.rb", "1")}, field: "runtime", want: []string{`"ruby"`}},
		{name: "empty runtime", runtime: "", ents: []ent{file("index.py", "1")}, field: "runtime", want: []string{"unknown runtime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, tt.ents...)
			_, err := check(t, data, tt.runtime, zippkg.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantErr(t, err, driverhub.EInvalid, tt.field, tt.want...)
		})
	}
}
