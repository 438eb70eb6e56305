package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

// driverPath is the URL path of a driver.
func driverPath(name string) string { return "/api/v1/drivers/" + url.PathEscape(name) }

// versionPath is the URL path of a driver version.
func versionPath(driver, version string) string {
	return driverPath(driver) + "/versions/" + url.PathEscape(version)
}

// wantError fails the test unless r is an error answer with the status and
// code. A non-empty field must match the error's field exactly.
func wantError(t testing.TB, r *apitest.Response, status int, code, field string) apierror.Detail {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := r.Error(t)
	if e.Code != code {
		t.Errorf("error code %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if field != "" && e.Field != field {
		t.Errorf("error field %q, want %q (message %q)", e.Field, field, e.Message)
	}
	if e.Message == "" {
		t.Errorf("error without a message: %s", r.Body)
	}
	return e
}

// jsonValue parses JSON text into the generic form that decoding an answer
// into map[string]any gives, for cmp.Diff.
func jsonValue(t testing.TB, text string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("bad JSON in test: %v: %s", err, text)
	}
	return v
}

// object decodes an answer as a JSON object.
func object(t testing.TB, r *apitest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	return m
}

// keys returns the sorted keys of a JSON object.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantTimestamp checks that v is an RFC 3339 timestamp in UTC.
func wantTimestamp(t testing.TB, name string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Errorf("%s = %#v, want an RFC 3339 timestamp", name, v)
		return
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %q, want an RFC 3339 timestamp in UTC (err %v)", name, s, err)
		return
	}
	if time.Since(ts) > time.Hour || time.Until(ts) > time.Minute {
		t.Errorf("%s = %s, not close to now", name, s)
	}
}

// diff fails the test when got and want differ.
func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// newDriver creates a driver of the given runtime (protocol modbus; C
// drivers are built for x86-64).
func newDriver(t testing.TB, s *apitest.Server, token, name, runtime string) {
	t.Helper()
	body := map[string]any{"name": name, "protocol": "modbus", "runtime": runtime}
	if runtime == "c" {
		body["cpu_arch"] = "x86-64"
	}
	s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", token, body)
}

// newVersion creates a draft version with min_edge_version 1.0.0.
func newVersion(t testing.TB, s *apitest.Server, token, driver, version string) {
	t.Helper()
	s.Must(t, http.StatusCreated, "POST", driverPath(driver)+"/versions", token,
		map[string]any{"version": version, "min_edge_version": "1.0.0"})
}

// putPackage uploads a package with a Content-Length.
func putPackage(t testing.TB, s *apitest.Server, token, driver, version string, pkg []byte) *apitest.Response {
	t.Helper()
	return s.Do(t, "PUT", versionPath(driver, version)+"/package", token, bytes.NewReader(pkg))
}

// buildZip makes a zip in memory from name, content pairs, in order.
func buildZip(t testing.TB, nameContent ...string) []byte {
	t.Helper()
	if len(nameContent)%2 != 0 {
		t.Fatal("buildZip: want name, content pairs")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(nameContent); i += 2 {
		w, err := zw.Create(nameContent[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, nameContent[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pyPackage is a valid python3 package holding index.py with the given code.
func pyPackage(t testing.TB, code string) []byte {
	t.Helper()
	return buildZip(t, "index.py", code, "lib/helper.py", "X = 1\n")
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// request builds a request to the server with the token (none when "").
func request(t testing.TB, s *apitest.Server, method, path, token string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// send sends a request built by request and reads the whole answer.
func send(t testing.TB, s *apitest.Server, req *http.Request) *apitest.Response {
	t.Helper()
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	apitest.CheckOpenAPI(t, resp, data)
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// newUser creates a user through the API and returns an API token of theirs
// with the same role.
func newUser(t testing.TB, s *apitest.Server, adminToken, username string, role driverhub.Role) string {
	t.Helper()
	ctx := context.Background()
	admin, err := s.Service.Authenticate(ctx, adminToken)
	if err != nil {
		t.Fatal(err)
	}
	password := "password-" + username
	s.Must(t, http.StatusCreated, "POST", "/api/v1/users", adminToken,
		map[string]any{"username": username, "password": password, "role": role})
	p, err := s.Service.Login(ctx, admin.TenantName+"/"+username, password)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Service.CreateToken(driverhub.WithPrincipal(ctx, p), "test", role)
	if err != nil {
		t.Fatal(err)
	}
	return k.Token
}

// listAll follows next_cursor from path (which must already hold a query)
// and returns every item's value of key, and the number of pages.
func listAll(t testing.TB, s *apitest.Server, token, path, key string) ([]string, int) {
	t.Helper()
	var out []string
	cursor, pages := "", 0
	for {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var l struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		s.Must(t, http.StatusOK, "GET", p, token, nil).Decode(t, &l)
		pages++
		if l.Items == nil {
			t.Fatalf("GET %s: items is not an array", p)
		}
		if l.NextCursor == nil {
			t.Fatalf("GET %s: no next_cursor", p)
		}
		for _, it := range l.Items {
			v, _ := it[key].(string)
			out = append(out, v)
		}
		if *l.NextCursor == "" {
			return out, pages
		}
		if pages > 100 {
			t.Fatalf("GET %s: more than 100 pages", path)
		}
		cursor = *l.NextCursor
	}
}
