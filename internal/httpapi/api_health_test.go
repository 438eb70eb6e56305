package httpapi_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestAPIHealth(t *testing.T) {
	s := apitest.New(t)
	for _, tc := range []struct{ name, path, status string }{
		{"healthz", "/healthz", "ok"},
		{"readyz", "/readyz", "ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Must(t, http.StatusOK, "GET", tc.path, "", nil)
			diff(t, "status", tc.status, object(t, r)["status"])
		})
	}
}

func TestAPIMetrics(t *testing.T) {
	s := apitest.New(t)
	s.Must(t, http.StatusOK, "GET", "/api/v1/drivers", s.AdminToken, nil)
	newDriver(t, s, s.AdminToken, "Metered", "python3")
	s.Do(t, "GET", driverPath("Nobody"), s.AdminToken, nil)
	r := s.Must(t, http.StatusOK, "GET", "/metrics", s.AdminToken, nil)
	want := []struct{ route, method, code string }{
		{"/api/v1/drivers", "GET", "200"},
		{"/api/v1/drivers", "POST", "201"},
		{"/api/v1/drivers/{driver}", "GET", "404"},
	}
	for _, w := range want {
		found := false
		sc := bufio.NewScanner(bytes.NewReader(r.Body))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "driverhub_http_requests_total{") &&
				strings.Contains(line, `route="`+w.route+`"`) && strings.Contains(line, `method="`+w.method+`"`) &&
				strings.Contains(line, `code="`+w.code+`"`) && strings.HasSuffix(line, " 1") {
				found = true
			}
		}
		if !found {
			t.Errorf("no driverhub_http_requests_total{method=%q,route=%q,code=%q} 1 in /metrics:\n%s", w.method, w.route, w.code, r.Body)
		}
	}
	if !strings.Contains(string(r.Body), "driverhub_http_request_duration_seconds") {
		t.Errorf("no latency histogram in /metrics")
	}
}

func TestAPIUnknownPath(t *testing.T) {
	s := apitest.New(t)
	for _, tc := range []struct{ name, method, path, token string }{
		{"unknown resource", "GET", "/api/v1/nope", ""},
		{"unknown resource with token", "GET", "/api/v1/nope", s.AdminToken},
		{"unknown version of the API", "GET", "/api/v2/drivers", s.AdminToken},
		{"unknown subresource", "POST", "/api/v1/drivers/X/versions/1/unpublish", s.AdminToken},
		{"no such method", "PUT", "/api/v1/drivers", s.AdminToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.token, nil)
			if r.Status == http.StatusMethodNotAllowed {
				wantError(t, r, http.StatusMethodNotAllowed, r.Error(t).Code, "")
				return
			}
			wantError(t, r, http.StatusNotFound, "not_found", "")
		})
	}
}
