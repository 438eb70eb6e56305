package zippkg_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
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

// ent is one zip entry to build.
type ent struct {
	name string
	body string
	mode fs.FileMode // zero: a 0644 file, or a directory when name ends in "/"

	// raw entries are written with CreateRaw: body is the stored data and
	// the header says whatever the fields below say.
	raw    bool
	method uint16
	flags  uint16
	crc    uint32
	usize  uint64
}

func file(name, body string) ent { return ent{name: name, body: body} }
func exe(name, body string) ent  { return ent{name: name, body: body, mode: 0o755} }
func dir(name string) ent        { return ent{name: name} }
func link(name, target string) ent {
	return ent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}

// makeZip builds a zip in memory.
func makeZip(tb testing.TB, ents ...ent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: e.flags}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.raw {
			h.Method, h.CRC32 = e.method, e.crc
			h.CompressedSize64, h.UncompressedSize64 = uint64(len(e.body)), e.usize
			w, err := zw.CreateRaw(h)
			if err != nil {
				tb.Fatalf("CreateRaw(%q): %v", e.name, err)
			}
			if _, err := w.Write([]byte(e.body)); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatalf("CreateHeader(%q): %v", e.name, err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// bomb returns an entry whose header declares 100 bytes but whose deflate
// data expands to n.
func bomb(tb testing.TB, name string, n int) ent {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fw.Write(make([]byte, n)); err != nil {
		tb.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return ent{name: name, body: buf.String(), raw: true, method: zip.Deflate, usize: 100}
}

// stored returns a raw stored entry with a correct header.
func stored(name, body string) ent {
	return ent{name: name, body: body, raw: true, method: zip.Store,
		crc: crc32.ChecksumIEEE([]byte(body)), usize: uint64(len(body))}
}

// check runs Check, and a Scanner fed the bytes in uneven pieces, and
// fails unless both say the same: the scan is only ever a shortcut.
func check(tb testing.TB, data []byte, runtime driverhub.Runtime, lim zippkg.Limits) (zippkg.Summary, error) {
	tb.Helper()
	sum, err := zippkg.Check(bytes.NewReader(data), int64(len(data)), runtime, lim)
	ssum, serr := scan(data, runtime, lim, 1000)
	if fmt.Sprint(err) != fmt.Sprint(serr) || sum != ssum {
		tb.Fatalf("Check = %+v, %v; Scanner.Check = %+v, %v", sum, err, ssum, serr)
	}
	return sum, err
}

// scan checks data through a Scanner written piece bytes at a time.
func scan(data []byte, runtime driverhub.Runtime, lim zippkg.Limits, piece int) (zippkg.Summary, error) {
	s := zippkg.NewScanner(lim)
	defer s.Stop()
	for rest := data; len(rest) > 0; {
		n := min(piece, len(rest))
		s.Write(rest[:n])
		rest = rest[n:]
	}
	return s.Check(bytes.NewReader(data), int64(len(data)), runtime)
}

func unpack(tb testing.TB, data []byte, runtime driverhub.Runtime, lim zippkg.Limits, dir string) error {
	tb.Helper()
	return zippkg.Unpack(bytes.NewReader(data), int64(len(data)), runtime, lim, dir)
}

// wantErr fails unless err is a *driverhub.Error with the code and field and
// a message holding every one of subs.
func wantErr(tb testing.TB, err error, code, field string, subs ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s on %q", code, field)
	}
	var e *driverhub.Error
	if !errors.As(err, &e) {
		tb.Fatalf("got %T %v, want *driverhub.Error", err, err)
	}
	if e.Code != code || e.Field != field {
		tb.Fatalf("got %s on %q (%s), want %s on %q", e.Code, e.Field, e.Message, code, field)
	}
	for _, s := range subs {
		if !strings.Contains(e.Message, s) {
			tb.Errorf("message %q does not mention %q", e.Message, s)
		}
	}
}

// tree describes the files under root, one line per path, for comparing.
func tree(tb testing.TB, root string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + t
		case d.IsDir():
			out[rel] = "dir " + info.Mode().Perm().String()
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "file " + info.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// names lists a directory, for checking that nothing was left behind.
func names(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}
