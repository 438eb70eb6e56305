package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/server"
)

// The tests of this file play the attacker of SPEC §13 over real sockets
// on loopback. Their deadlines only bound a failing test.

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(fds)
}

// dialServer opens a connection to s.
func dialServer(t *testing.T, s *running) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestIdleConnectionsClose opens 2,000 keep-alive connections that each
// send one request and then nothing: the server closes every one after
// the idle timeout, and the descriptors come back.
func TestIdleConnectionsClose(t *testing.T) {
	const conns = 2000
	s := start(t, server.Config{IdleTimeout: 200 * time.Millisecond})
	before := openFDs(t)
	addr := strings.TrimPrefix(s.URL(), "http://")
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs <- idleClient(addr)
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 3 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d idle connections were not closed by the server", failed, conns)
	}
	deadline := time.Now().Add(30 * time.Second)
	for openFDs(t) > before+10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := openFDs(t); after > before+10 {
		t.Errorf("%d descriptors open after the idle connections closed, %d before", after, before)
	}
}

// idleClient sends one request on a new connection, reads the answer and
// waits for the server to close the connection.
func idleClient(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: driverhub\r\n\r\n"); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		return errors.New("the server closed the connection at once: not a keep-alive")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("idle connection: read %v, want the server's close (EOF)", err)
	}
	return nil
}

// slowBody sends a request whose body of length bytes trickles a byte
// every 20 ms (50 bytes a second), and returns how the server answered
// before the body was whole: its status, or 0 when it closed the
// connection without one. The test fails when the server neither answers
// nor closes.
func slowBody(t *testing.T, s *running, method, path, token string, length int) int {
	t.Helper()
	conn := dialServer(t, s)
	defer conn.Close()
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: driverhub\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", method, path, length)
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		var timeout net.Error
		if errors.As(err, &timeout) && timeout.Timeout() {
			t.Errorf("%s %s: the server held the trickling body for 30 s", method, path)
		}
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; sent < length; sent++ {
		select {
		case status := <-answered:
			return status
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				return <-answered
			}
		}
	}
	t.Fatalf("%s %s: the server took the whole body at 50 bytes a second", method, path)
	return 0
}

// TestSlowBodiesAreCut trickles bodies (a sign-in form, an API request)
// slower than MinRequestBodyRate: the server cuts them after a window
// (here 300 ms) instead of holding them for ever; bodies at speed pass.
func TestSlowBodiesAreCut(t *testing.T) {
	s := start(t, server.Config{BodyRateWindow: 300 * time.Millisecond})
	token := s.Admin().Token
	for _, c := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/drivers", map[string]string{"name": "Slow", "protocol": "modbus", "runtime": "python3"}},
		{"/api/v1/drivers/Slow/versions", map[string]string{"version": "1", "min_edge_version": "1.0.0"}},
	} {
		if a := call(t, "POST", s.URL()+c.path, token, c.body); a.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, a.status, a.body)
		}
	}
	for _, tc := range []struct{ name, method, path, token string }{
		{"console sign-in", "POST", "/login", ""},
		{"API", "POST", "/api/v1/drivers", token},
		{"upload", "PUT", "/api/v1/drivers/Slow/versions/1/package", token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status := slowBody(t, s, tc.method, tc.path, tc.token, 3000); status != 0 && status < 400 {
				t.Errorf("a body at 50 bytes a second answered %d, want it cut", status)
			}
		})
	}
	signIn(t, s) // at speed
}

// signIn posts the console's sign-in form and returns the answer's
// session cookie, or nil.
func signIn(t *testing.T, s *running) *http.Cookie {
	t.Helper()
	form := url.Values{"username": {"admin"}, "password": {s.Admin().Password}}.Encode()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(s.URL()+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "driverhub_session" {
			return ck
		}
	}
	t.Fatalf("sign-in answered %d without a session cookie", resp.StatusCode)
	return nil
}

// TestSessionCookieSecureBehindTLSProxy: behind the TLS proxy of
// docs/production.md requests arrive as plain HTTP; with an https public
// URL the session cookie is Secure all the same.
func TestSessionCookieSecureBehindTLSProxy(t *testing.T) {
	if ck := signIn(t, start(t, server.Config{PublicURL: "https://driverhub.example.com"})); !ck.Secure || !ck.HttpOnly {
		t.Errorf("session cookie behind https: Secure %v, HttpOnly %v; want both", ck.Secure, ck.HttpOnly)
	}
	if ck := signIn(t, start(t, server.Config{})); ck.Secure {
		t.Error("session cookie of a plain-HTTP server is Secure: browsers would drop it")
	}
}

// TestMetricsMove: with a metrics address, the metrics are there, to
// anyone, and no longer on the API's address.
func TestMetricsMove(t *testing.T) {
	s := start(t, server.Config{MetricsAddr: "127.0.0.1:0"})
	call(t, "GET", s.URL()+"/api/v1/users", s.Admin().Token, nil)
	if a := call(t, "GET", s.MetricsURL()+"/metrics", "", nil); a.status != http.StatusOK || !strings.Contains(a.body, "driverhub_http_requests_total") {
		t.Errorf("metrics address: %d, want the metrics", a.status)
	}
	if a := call(t, "GET", s.URL()+"/metrics", s.Admin().Token, nil); a.status != http.StatusNotFound {
		t.Errorf("API's address: %d %s, want 404", a.status, a.body)
	}
}

// gatewayTries sends n requests with wrong gateway secrets, each claiming
// to come from forwardedFor, then one with a right secret, and returns its
// status.
func gatewayTries(t *testing.T, s *running, n int, forwardedFor, right, rightFor string) int {
	t.Helper()
	get := func(secret, xff string) int {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v1/gateway/desired", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for k := range n {
		if status := get(fmt.Sprintf("dhg_%064x", k), forwardedFor); status != http.StatusUnauthorized {
			t.Fatalf("wrong secret %d: %d, want 401", k, status)
		}
	}
	return get(right, rightFor)
}

func newGatewaySecret(t *testing.T, s *running) string {
	t.Helper()
	a := call(t, "POST", s.URL()+"/api/v1/instances", s.Admin().Token, map[string]string{"name": "edge"})
	_, rest, _ := strings.Cut(a.body, `"gateway_secret":"`)
	secret, _, _ := strings.Cut(rest, `"`)
	if a.status != http.StatusCreated || secret == "" {
		t.Fatalf("create instance: %d %s", a.status, a.body)
	}
	return secret
}

// TestTrustedProxies: behind a trusted load balancer, failed gateway
// authentications count against the client X-Forwarded-For names, so one
// attacker does not lock every gateway out; from an untrusted peer the
// header is ignored, so an attacker cannot escape by writing it.
func TestTrustedProxies(t *testing.T) {
	n := driverhub.GatewayAuthFailuresPerAddress
	behind := start(t, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	secret := newGatewaySecret(t, behind)
	if status := gatewayTries(t, behind, n, "198.51.100.1", secret, "198.51.100.2"); status != http.StatusOK {
		t.Errorf("another client behind the proxy: %d, want 200", status)
	}
	if status := gatewayTries(t, behind, 0, "", secret, "198.51.100.1"); status != http.StatusTooManyRequests {
		t.Errorf("the attacker behind the proxy: %d, want 429", status)
	}

	direct := start(t, server.Config{})
	secret = newGatewaySecret(t, direct)
	if status := gatewayTries(t, direct, n, "198.51.100.1", secret, "198.51.100.2"); status != http.StatusTooManyRequests {
		t.Errorf("an attacker naming another client in X-Forwarded-For: %d, want 429", status)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := server.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	if err != nil || len(got) != 3 || got[1].String() != "192.0.2.7/32" {
		t.Errorf("ParseTrustedProxies = %v, %v", got, err)
	}
	if _, err := server.ParseTrustedProxies("10.0.0.0/8,lb.internal"); err == nil || !strings.Contains(err.Error(), `"lb.internal"`) {
		t.Errorf("a host name: %v, want an error naming it", err)
	}
}

// TestConsoleSignInThrottled plays the attacker: 160 wrong
// passwords in 5 s, then the right one. Past LoginFailuresPerUser
// failures the console answers 429 with Retry-After, the right password
// included.
func TestConsoleSignInThrottled(t *testing.T) {
	s := start(t, server.Config{})
	post := func(password string) *http.Response {
		form := url.Values{"username": {"admin"}, "password": {password}}.Encode()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Post(s.URL()+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for k := range driverhub.LoginFailuresPerUser {
		if resp := post(fmt.Sprint("guess-", k)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", k, resp.StatusCode)
		}
	}
	resp := post(s.Admin().Password)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after %d wrong ones: %d, Retry-After %q; want 429 with a wait",
			driverhub.LoginFailuresPerUser, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "driverhub_session" && ck.Value != "" {
			t.Error("a throttled sign-in got a session")
		}
	}
}

// TestUsersFormAsksForTheCurrentPassword: the console's users page asks
// for the current password on the signed-in user's own row only.
func TestUsersFormAsksForTheCurrentPassword(t *testing.T) {
	s := start(t, server.Config{})
	call(t, "POST", s.URL()+"/api/v1/users", s.Admin().Token, map[string]string{"username": "dev", "password": "password-dev", "role": "developer"})
	req, _ := http.NewRequest("GET", s.URL()+"/users", nil)
	req.AddCookie(signIn(t, s))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), `name="current_password"`); resp.StatusCode != http.StatusOK || n != 1 {
		t.Errorf("users page: %d with %d current_password fields, want 200 with one (the admin's own row)", resp.StatusCode, n)
	}
}

// TestShutdownAnswersLongPolls: a stopping server answers the long-polls
// waiting (parked, off their connections) at once, with 304, rather than
// cutting them after the grace period.
func TestShutdownAnswersLongPolls(t *testing.T) {
	s := start(t, server.Config{})
	secret := newGatewaySecret(t, s)
	first := call(t, "GET", s.URL()+"/api/v1/gateway/desired", secret, nil)
	etag := first.header.Get("ETag")
	answered := make(chan int, 1)
	sent := make(chan struct{})
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v1/gateway/desired?wait=5m", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("If-None-Match", etag)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}))
		// A connection of its own: an idle one would be closed by the
		// shutdown before the request on it were read.
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Errorf("long-poll during shutdown: %v", err)
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-sent
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(
		call(t, "GET", s.URL()+"/metrics", s.Admin().Token, nil).body, "driverhub_gateway_parked_polls 1"); {
		if time.Now().After(deadline) {
			t.Fatal("the long-poll was not waiting after 30 s")
		}
		time.Sleep(10 * time.Millisecond) // until the server holds the poll
	}
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if status := <-answered; status != http.StatusNotModified {
		t.Errorf("long-poll during shutdown: %d, want 304", status)
	}
}
