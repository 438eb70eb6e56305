package apitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const etag = `"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`

// TestMatchOpenAPI checks what the suites' answer check accepts and
// refuses, on answers made up to differ from openapi.json in one way each.
func TestMatchOpenAPI(t *testing.T) {
	jsonCT := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	notFound := `{"error":{"code":"not_found","message":"no such API path"}}`
	pkg := "/api/v1/drivers/d/versions/1.0/package"
	download := http.Header{"Content-Type": {"application/octet-stream"}, "Etag": {etag},
		"Content-Disposition": {`attachment; filename="d-1.0.zip"`}, "Accept-Ranges": {"bytes"}}
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // in the error; "" for none
	}{
		{"documented answer", "GET", "/healthz", 200, jsonCT, `{"status":"ok"}`, ""},
		{"body off its schema", "GET", "/healthz", 200, jsonCT, `{"status":"fine"}`, `doesn't match schema #/components/schemas/Health`},
		{"required property missing", "GET", "/healthz", 200, jsonCT, `{}`, `property "status" is missing`},
		{"undocumented status", "GET", "/healthz", 418, jsonCT, `{"status":"ok"}`, "status 418 is not among"},
		{"undocumented media type", "GET", "/healthz", 200, http.Header{"Content-Type": {"text/html"}}, "<p>ok</p>", `"text/html"`},
		{"download", "GET", pkg, 200, download, "PK\x03\x04", ""},
		{"download without its ETag", "GET", pkg, 200, without(download, "Etag"), "PK\x03\x04", `header "ETag" missing`},
		{"download as HTML", "GET", pkg, 200, with(download, "Content-Type", "text/html"), "<p>", `Content-Type "text/html" is not documented`},
		{"HEAD of a download", "HEAD", pkg, 200, download, "", ""},
		{"HEAD without its ETag", "HEAD", pkg, 200, without(download, "Etag"), "", `header "ETag" missing`},
		{"not modified", "GET", pkg, 304, http.Header{"Etag": {etag}}, "", ""},
		{"not modified, malformed ETag", "GET", pkg, 304, http.Header{"Etag": {`W/"x"`}}, "", `header "ETag" doesn't match schema`},
		{"redirect without Location", "GET", pkg, 307, http.Header{}, "", `header "Location" missing`},
		{"body where none is documented", "DELETE", "/api/v1/drivers/d", 204, jsonCT, "{}", "where none is documented"},
		{"unknown API path", "GET", "/api/v1/nope", 404, jsonCT, notFound, ""},
		{"unknown API method", "PUT", "/api/v1/drivers", 404, jsonCT, notFound, ""},
		{"unknown API path, other refusal", "GET", "/api/v1/nope", 404, jsonCT, `{"message":"no"}`, "doesn't match schema #/components/schemas/Error"},
		{"unknown API path answered", "GET", "/api/v1/nope", 200, jsonCT, `{}`, "no documented operation"},
		{"console page", "GET", "/drivers", 200, http.Header{"Content-Type": {"text/html"}}, "<html>", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://127.0.0.1:1234"+tc.path, nil)
			err := matchOpenAPI(req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s %s answered %d: %v, want no error", tc.method, tc.path, tc.status, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("%s %s answered %d: error %v, want one saying %s", tc.method, tc.path, tc.status, err, tc.want)
			}
		})
	}
}

// recorder is a testing.TB that keeps what the code under test reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestCheckOpenAPIReport checks that an answer off the document fails the
// test with the method, path, status and kin-openapi's reason; and that
// after a followed redirect the API's redirect is checked, not the store's
// answer.
func TestCheckOpenAPIReport(t *testing.T) {
	req := httptest.NewRequest("GET", "http://127.0.0.1:1234/healthz?x=1", nil)
	resp := &http.Response{Request: req, StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}}
	rec := &recorder{TB: t}
	CheckOpenAPI(rec, resp, []byte(`{"status":1}`))
	want := `GET /healthz?x=1: the 200 answer does not match openapi.json: response body doesn't match schema #/components/schemas/Health: Error at "/status"`
	if len(rec.errors) != 1 || !strings.HasPrefix(rec.errors[0], want) {
		t.Errorf("reported %q, want one error starting %q", rec.errors, want)
	}

	pkg := httptest.NewRequest("GET", "http://127.0.0.1:1234/api/v1/drivers/d/versions/1.0/package", nil)
	redirect := &http.Response{Request: pkg, StatusCode: 307, Header: http.Header{"Location": {"https://objects.example/x"}}}
	store := httptest.NewRequest("GET", "https://objects.example/x", nil)
	store.Response = redirect
	rec = &recorder{TB: t}
	CheckOpenAPI(rec, &http.Response{Request: store, StatusCode: 200, Header: http.Header{"Content-Type": {"binary/octet-stream"}}}, []byte("PK"))
	if len(rec.errors) != 0 {
		t.Errorf("a followed redirect reported %q, want nothing", rec.errors)
	}
	delete(redirect.Header, "Location")
	CheckOpenAPI(rec, &http.Response{Request: store, StatusCode: 200}, nil)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], `GET /api/v1/drivers/d/versions/1.0/package: the 307 answer`) {
		t.Errorf("a redirect without Location reported %q, want the 307 named", rec.errors)
	}
}

func with(h http.Header, key, value string) http.Header {
	c := h.Clone()
	c.Set(key, value)
	return c
}

func without(h http.Header, key string) http.Header {
	c := h.Clone()
	c.Del(key)
	return c
}
