package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// rawRequest sends a request's head, declaring a body of length bytes,
// without sending the body, and reads the answer's head: the server must
// answer without the body. The deadline only bounds a failing test.
func rawRequest(t *testing.T, s *apitest.Server, method, path, auth string, length int64) *http.Response {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", method, path, u.Host, length)
	if auth != "" {
		head += "Authorization: Bearer " + auth + "\r\n"
	}
	if _, err := conn.Write([]byte(head + "\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s with a %d-byte body not sent: no answer (%v): the server waits for the body", method, path, length, err)
	}
	resp.Body.Close()
	return resp
}

// TestUnauthenticatedBodiesAreNotRead plays the client that declares a
// large body and sends none: refused for its credentials, it is answered
// at once, and its connection closed rather than read.
func TestUnauthenticatedBodiesAreNotRead(t *testing.T) {
	s := apitest.New(t)
	for _, tc := range []struct {
		name, path, auth string
		length           int64
	}{
		{"report without a secret, 100 MB", "/api/v1/gateway/report", "", 100 << 20},
		{"report without a secret, 200 KB", "/api/v1/gateway/report", "", 200 << 10},
		{"report with a wrong secret", "/api/v1/gateway/report", "dhg_" + strings.Repeat("0", 64), 200 << 10},
		{"API without a token", "/api/v1/drivers", "", 200 << 10},
		{"API with a wrong token", "/api/v1/drivers", "dht_" + strings.Repeat("0", 64), 200 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, s, "POST", tc.path, tc.auth, tc.length)
			if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
				t.Errorf("status %d, connection close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
			}
		})
	}
}

// TestGatewayBodiesOverTheLimitAreRefusedAtOnce: a gateway declaring a
// report over MaxGatewayBodyBytes is answered 413 before it sends it; one
// sending more than it declared… cannot (HTTP frames it); one sending
// chunks past the limit is cut at the limit.
func TestGatewayBodiesOverTheLimitAreRefusedAtOnce(t *testing.T) {
	s := apitest.New(t)
	g := gwNewInstance(t, s, s.AdminToken, "edge")
	resp := rawRequest(t, s, "POST", "/api/v1/gateway/report", g.secret, driverhub.MaxGatewayBodyBytes+1)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Errorf("status %d, connection close %v; want 413 and the connection closed", resp.StatusCode, resp.Close)
	}
	// Chunked, so that no length is declared: read up to the limit only.
	big := `{"edge_version": "1.0.0", "arch": "` + strings.Repeat("a", driverhub.MaxGatewayBodyBytes) + `"}`
	req := request(t, s, "POST", "/api/v1/gateway/report", g.secret, strings.NewReader(big))
	req.ContentLength = -1
	wantError(t, send(t, s, req), http.StatusRequestEntityTooLarge, driverhub.ETooLarge, "")
}

// TestGatewayAuthThrottled plays the attacker who tries gateway secrets
// (the issue measured 1,844 a second): past the failures an address may
// have, it gets 429 with Retry-After, even with a right secret.
func TestGatewayAuthThrottled(t *testing.T) {
	s := apitest.New(t)
	g := gwNewInstance(t, s, s.AdminToken, "edge")
	for k := range driverhub.GatewayAuthFailuresPerAddress {
		r := s.Do(t, "GET", "/api/v1/gateway/desired", fmt.Sprintf("dhg_%064x", k), nil)
		wantError(t, r, http.StatusUnauthorized, driverhub.EUnauthenticated, "")
	}
	r := g.desired(t, "", "")
	wantError(t, r, http.StatusTooManyRequests, driverhub.ETooManyRequests, "")
	if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 {
		t.Errorf("Retry-After %q, want a whole number of seconds", r.Header.Get("Retry-After"))
	}
}

// TestOwnPasswordChangeNeedsTheCurrentOne: a stolen token cannot change
// its user's password and so take the account over.
func TestOwnPasswordChangeNeedsTheCurrentOne(t *testing.T) {
	s := apitest.New(t)
	s.Must(t, http.StatusCreated, "POST", "/api/v1/users", s.AdminToken,
		map[string]any{"username": "dev", "password": "password-dev", "role": "developer"})
	ctx := context.Background()
	p, err := s.Service.Login(ctx, "dev", "password-dev")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Service.CreateToken(driverhub.WithPrincipal(ctx, p), "stolen", driverhub.RoleDeveloper)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "PATCH", "/api/v1/users/dev", k.Token, map[string]any{"password": "taken-over-now"})
	wantError(t, r, http.StatusBadRequest, driverhub.EInvalid, "current_password")
	r = s.Do(t, "PATCH", "/api/v1/users/dev", k.Token, map[string]any{"password": "taken-over-now", "current_password": "a-guess"})
	wantError(t, r, http.StatusBadRequest, driverhub.EInvalid, "current_password")
	// An admin resets it without; the user then changes it with the new one.
	s.Must(t, http.StatusOK, "PATCH", "/api/v1/users/dev", s.AdminToken, map[string]any{"password": "reset-by-admin"})
	s.Must(t, http.StatusOK, "PATCH", "/api/v1/users/dev", k.Token, map[string]any{"password": "chosen-by-me", "current_password": "reset-by-admin"})
}

// TestMetricsNeedASystemAdmin: on the API's address, the metrics (every
// tenant's traffic) are for a system admin's token only.
func TestMetricsNeedASystemAdmin(t *testing.T) {
	s := apitest.New(t)
	wantError(t, s.Do(t, "GET", "/metrics", "", nil), http.StatusUnauthorized, driverhub.EUnauthenticated, "")
	other := s.NewTenant(t, "other")
	wantError(t, s.Do(t, "GET", "/metrics", other, nil), http.StatusForbidden, driverhub.EPermissionDenied, "")
	viewer := s.Token(t, s.AdminToken, driverhub.RoleViewer)
	wantError(t, s.Do(t, "GET", "/metrics", viewer, nil), http.StatusForbidden, driverhub.EPermissionDenied, "")
	s.Must(t, http.StatusOK, "GET", "/metrics", s.AdminToken, nil)
}

// TestParkedLongPollKeepsItsConnection: a long-poll waits parked, off its
// connection, yet the gateway's next request goes on the same connection,
// and the answer is counted in the metrics like any other.
func TestParkedLongPollKeepsItsConnection(t *testing.T) {
	s := apitest.New(t)
	g := gwNewInstance(t, s, s.AdminToken, "edge")
	etag := g.desired(t, "", "").Header.Get("ETag")
	var reused []bool
	for range 3 {
		req := request(t, s, "GET", "/api/v1/gateway/desired?wait=200ms", g.secret, nil)
		req.Header.Set("If-None-Match", etag)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}))
		if r := send(t, s, req); r.Status != http.StatusNotModified || r.Header.Get("ETag") != etag {
			t.Fatalf("long-poll: %d, ETag %q; want 304 with %q", r.Status, r.Header.Get("ETag"), etag)
		}
	}
	if len(reused) != 3 || !reused[1] || !reused[2] {
		t.Errorf("connections reused %v, want the same connection after the first", reused)
	}
	m := string(s.Must(t, http.StatusOK, "GET", "/metrics", s.AdminToken, nil).Body)
	want := `driverhub_http_requests_total{code="304",method="GET",route="/api/v1/gateway/desired"} 3`
	if !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
}
