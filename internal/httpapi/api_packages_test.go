package httpapi_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// opaque hides a reader's type, so the HTTP client cannot learn its length
// and sends it chunked.
type opaque struct{ io.Reader }

func TestAPIPackageChecks(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	newDriver(t, s, s.AdminToken, "Js", "nodejs")
	newVersion(t, s, s.AdminToken, "Py", "1.0")
	newVersion(t, s, s.AdminToken, "Js", "1.0")
	tests := []struct {
		name    string
		driver  string
		body    []byte
		message string // the message must hold it
	}{
		{"not a zip", "Py", []byte("print('not zipped')\n"), "zip"},
		{"empty body", "Py", nil, "zip"},
		{"truncated zip", "Py", pyPackage(t, "print(1)\n")[:40], "zip"},
		{"no entry file", "Py", buildZip(t, "main.py", "print(1)\n"), "index.py"},
		{"entry file in a folder", "Py", buildZip(t, "mydriver/index.py", "print(1)\n"), "index.py"},
		{"entry file of another runtime", "Js", pyPackage(t, "print(1)\n"), "index.js"},
		{"dot-dot entry", "Py", buildZip(t, "index.py", "print(1)\n", "../evil.py", "x"), ".."},
		{"dot-dot inside", "Py", buildZip(t, "index.py", "print(1)\n", "lib/../../evil.py", "x"), ".."},
		{"absolute entry", "Py", buildZip(t, "index.py", "print(1)\n", "/etc/cron.d/evil", "x"), "/etc/cron.d/evil"},
		{"backslash entry", "Py", buildZip(t, "index.py", "print(1)\n", `..\evil.py`, "x"), `evil.py`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := putPackage(t, s, s.AdminToken, tc.driver, "1.0", tc.body)
			e := wantError(t, r, http.StatusBadRequest, "invalid_argument", "package")
			if !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q does not name %q", e.Message, tc.message)
			}
			v := object(t, s.Must(t, http.StatusOK, "GET", versionPath(tc.driver, "1.0"), s.AdminToken, nil))
			diff(t, "package after a refused upload", nil, v["package"])
		})
	}
	t.Run("bad filename", func(t *testing.T) {
		r := s.Do(t, "PUT", versionPath("Py", "1.0")+"/package?filename="+url.QueryEscape("../x.zip"), s.AdminToken, bytes.NewReader(pyPackage(t, "")))
		wantError(t, r, http.StatusBadRequest, "invalid_argument", "filename")
	})
	t.Run("viewer", func(t *testing.T) {
		viewer := s.Token(t, s.AdminToken, driverhub.RoleViewer)
		wantError(t, putPackage(t, s, viewer, "Py", "1.0", pyPackage(t, "")), http.StatusForbidden, "permission_denied", "")
	})
	t.Run("unknown version", func(t *testing.T) {
		wantError(t, putPackage(t, s, s.AdminToken, "Py", "9.9", pyPackage(t, "")), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "GET", versionPath("Py", "1.0")+"/package", s.AdminToken, nil), http.StatusNotFound, "not_found", "")
	})
}

func TestAPIPackageTooLarge(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Big", "python3")
	newVersion(t, s, s.AdminToken, "Big", "1.0")
	tests := []struct {
		name    string
		chunked bool
	}{
		{"with Content-Length", false},
		{"chunked", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = io.LimitReader(zeros{}, driverhub.MaxPackageBytes+1)
			if tc.chunked {
				body = opaque{body}
			}
			req := request(t, s, "PUT", versionPath("Big", "1.0")+"/package", s.AdminToken, body)
			if !tc.chunked {
				req.ContentLength = driverhub.MaxPackageBytes + 1
			} else if req.ContentLength != 0 {
				t.Fatalf("the client knows the length (%d) of a chunked body", req.ContentLength)
			}
			wantError(t, send(t, s, req), http.StatusRequestEntityTooLarge, "too_large", "")
			v := object(t, s.Must(t, http.StatusOK, "GET", versionPath("Big", "1.0"), s.AdminToken, nil))
			diff(t, "package after a refused upload", nil, v["package"])
		})
	}
}

// writeExactZip writes a valid python3 package of exactly size bytes to a
// file: index.py, a stored padding entry, and an archive comment making up
// the rest.
func writeExactZip(t testing.TB, size int64) string {
	t.Helper()
	const pad = driverhub.MaxPackageBytes - 40_000
	write := func(w io.Writer, comment string) {
		zw := zip.NewWriter(w)
		for _, e := range []struct {
			name string
			body io.Reader
		}{
			{"index.py", strings.NewReader("print('big')\n")},
			{"lib/padding.bin", io.LimitReader(zeros{}, pad)},
		} {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(fw, e.body); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.SetComment(comment); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var n countWriter
	write(&n, "")
	missing := size - int64(n)
	if missing < 0 || missing > 0xffff {
		t.Fatalf("a zip without comment is %d bytes; cannot pad to %d with a comment", n, size)
	}
	path := filepath.Join(t.TempDir(), "exact.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write(f, strings.Repeat("#", int(missing)))
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		t.Fatalf("built %v bytes (err %v), want %d", fi.Size(), err, size)
	}
	return path
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

func TestAPIPackageExactLimit(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Big", "python3")
	newVersion(t, s, s.AdminToken, "Big", "1.0")
	path := writeExactZip(t, driverhub.MaxPackageBytes)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// An *os.File body is streamed from disk (with a Content-Length).
	req := request(t, s, "PUT", versionPath("Big", "1.0")+"/package", s.AdminToken, f)
	req.ContentLength = driverhub.MaxPackageBytes
	r := send(t, s, req)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	pkg := object(t, r)["package"].(map[string]any)
	diff(t, "size", float64(driverhub.MaxPackageBytes), pkg["size"])
	if sha, _ := pkg["sha256"].(string); len(sha) != 64 {
		t.Errorf("sha256 %q", sha)
	}
	// The download is the same file.
	resp, err := s.Client.Do(request(t, s, "GET", versionPath("Big", "1.0")+"/package", s.AdminToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != driverhub.MaxPackageBytes || resp.Header.Get("ETag") != `"`+pkg["sha256"].(string)+`"` {
		t.Errorf("download: %d bytes, ETag %s, err %v", n, resp.Header.Get("ETag"), err)
	}
}

func TestAPIPackageDownload(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	newDriver(t, s, a, "Dl", "python3")
	newVersion(t, s, a, "Dl", "2.1-rc_1")
	pkg := pyPackage(t, "print('download me')\n")
	if r := putPackage(t, s, a, "Dl", "2.1-rc_1", pkg); r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	path := versionPath("Dl", "2.1-rc_1") + "/package"
	etag := `"` + sha256Hex(pkg) + `"`

	tests := []struct {
		name    string
		header  map[string]string
		status  int
		body    []byte
		headers map[string]string
	}{
		{"whole", nil, 200, pkg, map[string]string{
			"ETag": etag, "Content-Disposition": `attachment; filename="Dl-2.1-rc_1.zip"`, "Accept-Ranges": "bytes"}},
		{"range", map[string]string{"Range": "bytes=10-19"}, 206, pkg[10:20], map[string]string{
			"ETag": etag, "Content-Range": "bytes 10-19/" + strconv.Itoa(len(pkg))}},
		{"suffix range", map[string]string{"Range": "bytes=-5"}, 206, pkg[len(pkg)-5:], nil},
		{"open range", map[string]string{"Range": "bytes=" + strconv.Itoa(len(pkg)-3) + "-"}, 206, pkg[len(pkg)-3:], nil},
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304, nil, map[string]string{"ETag": etag}},
		{"If-None-Match other", map[string]string{"If-None-Match": `"` + strings.Repeat("0", 64) + `"`}, 200, pkg, nil},
		{"If-Range matching", map[string]string{"Range": "bytes=0-3", "If-Range": etag}, 206, pkg[:4], nil},
		{"If-Range stale", map[string]string{"Range": "bytes=0-3", "If-Range": `"stale"`}, 200, pkg, nil},
		{"unsatisfiable range", map[string]string{"Range": "bytes=" + strconv.Itoa(len(pkg)+10) + "-"}, 416, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, s, "GET", path, a, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			r := send(t, s, req)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", r.Status, tc.status, r.Body)
			}
			if tc.body != nil && !bytes.Equal(r.Body, tc.body) {
				t.Errorf("body %d bytes %q, want %d bytes %q", len(r.Body), r.Body, len(tc.body), tc.body)
			}
			if tc.status == 304 && len(r.Body) != 0 {
				t.Errorf("304 with a body")
			}
			for k, want := range tc.headers {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestAPIConfigFile(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	newDriver(t, s, a, "Cf", "python3")
	newVersion(t, s, a, "Cf", "1.0")
	path := versionPath("Cf", "1.0") + "/config-file"

	wantError(t, s.Do(t, "GET", path, a, nil), http.StatusNotFound, "not_found", "")

	conf := []byte("[plc]\nhost = 10.0.0.7\n")
	r := s.Must(t, http.StatusOK, "PUT", path+"?name=app.conf", a, bytes.NewReader(conf))
	want := jsonValue(t, `{"format":"file","file":{"name":"app.conf","size":`+strconv.Itoa(len(conf))+`,"sha256":"`+sha256Hex(conf)+`"}}`)
	diff(t, "driver_config", want, object(t, r)["driver_config"])
	diff(t, "GET version", want, object(t, s.Must(t, http.StatusOK, "GET", versionPath("Cf", "1.0"), a, nil))["driver_config"])
	got := s.Must(t, http.StatusOK, "GET", path, a, nil)
	if !bytes.Equal(got.Body, conf) {
		t.Errorf("config file %q, want %q", got.Body, conf)
	}
	if etag := got.Header.Get("ETag"); etag != `"`+sha256Hex(conf)+`"` {
		t.Errorf("ETag %q", etag)
	}
	if cd := got.Header.Get("Content-Disposition"); cd != `attachment; filename="app.conf"` {
		t.Errorf("Content-Disposition %q", cd)
	}

	// Sending back the file config read is fine; a kv config replaces it.
	s.Must(t, http.StatusOK, "PATCH", versionPath("Cf", "1.0"), a, map[string]any{"driver_config": want})

	exact := bytes.Repeat([]byte{'c'}, driverhub.MaxConfigFileBytes)
	tests := []struct {
		name   string
		query  string
		body   io.Reader
		status int
		code   string
		field  string
	}{
		{"1 MiB", "name=big.conf", bytes.NewReader(exact), 200, "", ""},
		{"1 MiB + 1", "name=big.conf", bytes.NewReader(append(exact, 'c')), 413, "too_large", ""},
		{"1 MiB + 1 chunked", "name=big.conf", opaque{io.LimitReader(zeros{}, driverhub.MaxConfigFileBytes+1)}, 413, "too_large", ""},
		{"name with slash", "name=" + url.QueryEscape("conf/app.conf"), strings.NewReader("x"), 400, "invalid_argument", "name"},
		{"name dot dot", "name=..", strings.NewReader("x"), 400, "invalid_argument", "name"},
		{"no name", "", strings.NewReader("x"), 400, "invalid_argument", "name"},
		{"empty file", "name=empty.conf", strings.NewReader(""), 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "PUT", path+"?"+tc.query, a, tc.body)
			if tc.code != "" {
				wantError(t, r, tc.status, tc.code, tc.field)
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
	// The last accepted upload (empty.conf) is the config.
	v := object(t, s.Must(t, http.StatusOK, "GET", versionPath("Cf", "1.0"), a, nil))
	diff(t, "config after the table", jsonValue(t, `{"format":"file","file":{"name":"empty.conf","size":0,"sha256":"`+sha256Hex(nil)+`"}}`), v["driver_config"])

	got2 := object(t, s.Must(t, http.StatusOK, "PATCH", versionPath("Cf", "1.0"), a,
		`{"driver_config":{"format":"kv","kv":[{"key":"a","value":"b","note":""}]}}`))
	diff(t, "kv replaces file", "kv", got2["driver_config"].(map[string]any)["format"])
	wantError(t, s.Do(t, "GET", path, a, nil), http.StatusNotFound, "not_found", "")
}
