package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/server"
	"github.com/driverhub/driverhub/internal/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// running is a server Run in the background.
type running struct {
	*server.Server
	stop func() error // ends Run and returns what it returned
}

// start creates and runs a server on c (a fresh data directory when
// c.DataDir is empty); it stops when the test ends, if not before.
func start(t *testing.T, c server.Config) *running {
	t.Helper()
	if c.DataDir == "" {
		c.DataDir = t.TempDir()
	}
	c.Logger, c.BcryptCost = quiet, 4
	srv, err := server.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	stop := sync.OnceValue(func() error { cancel(); return <-ran })
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &running{Server: srv, stop: stop}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// call sends a request with a token ("" for none) and a JSON body (nil
// for none), without following redirects.
func call(t *testing.T, method, url, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestMounts checks that one listener serves the API, its health checks
// and metrics, and the console on every other path.
func TestMounts(t *testing.T) {
	s := start(t, server.Config{})
	token := s.Admin().Token
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, has   string
	}{
		{"API", "GET", "/api/v1/users", 200, "application/json", `"admin"`},
		{"API's unknown path", "GET", "/api/v2/users", 404, "application/json", `"not_found"`},
		{"liveness", "GET", "/healthz", 200, "application/json", `"ok"`},
		{"readiness", "GET", "/readyz", 200, "application/json", `"ready"`},
		{"metrics", "GET", "/metrics", 200, "text/plain", `driverhub_http_requests_total{code="200",method="GET",route="/api/v1/users"}`}, // the API's, above,
		{"OpenAPI document", "GET", "/api/v1/openapi.json", 200, "application/json", `"openapi"`},
		{"console's login page", "GET", "/login", 200, "text/html", "<form"},
		{"console's home, signed out", "GET", "/", 303, "", ""},
		{"console's stylesheet", "GET", "/static/console.css", 200, "text/css", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, tc.method, s.URL()+tc.path, token, nil)
			if a.status != tc.status {
				t.Fatalf("%s %s: status %d, want %d: %.200s", tc.method, tc.path, a.status, tc.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(a.body, tc.has) {
				t.Errorf("body does not hold %s: %.300s", tc.has, a.body)
			}
		})
	}
}

// TestReadinessNeedsBlobs checks that /readyz reports an unusable blob
// store, so that a load balancer stops sending uploads to this replica.
func TestReadinessNeedsBlobs(t *testing.T) {
	dir := t.TempDir()
	s := start(t, server.Config{DataDir: dir})
	spool := filepath.Join(dir, "blobs", ".tmp") // where fsblob stages uploads
	if err := os.RemoveAll(spool); err != nil {
		t.Fatal(err)
	}
	a := call(t, "GET", s.URL()+"/readyz", "", nil)
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "fsblob") {
		t.Errorf("without the blob store's directory: %d %s, want 503 naming fsblob", a.status, a.body)
	}
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if a := call(t, "GET", s.URL()+"/readyz", "", nil); a.status != http.StatusOK {
		t.Errorf("with it back: %d %s, want 200", a.status, a.body)
	}
}

// TestFirstStart checks that the first start creates the admin asked for
// and keeps it in initial-admin.json, and that the next start on the same
// data creates nothing and lets the admin in.
func TestFirstStart(t *testing.T) {
	dir := t.TempDir()
	token := driverhub.NewSecret(driverhub.TokenPrefix, 32)
	first := start(t, server.Config{DataDir: dir, AdminToken: token, AdminPassword: "first-start-password"})
	if a := first.Admin(); a == nil || a.Token != token || a.Password != "first-start-password" {
		t.Fatalf("first start's admin: %+v, want the token and password configured", a)
	}
	path := filepath.Join(dir, server.InitialAdminFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, info.Mode().Perm())
	}
	var saved driverhub.InitialAdmin
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &saved) != nil || saved != *first.Admin() {
		t.Errorf("%s holds %+v (%v), want %+v", path, saved, err, *first.Admin())
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	again := start(t, server.Config{DataDir: dir})
	if a := again.Admin(); a != nil {
		t.Errorf("second start created an admin: %+v", a)
	}
	if a := call(t, "GET", again.URL()+"/api/v1/users/admin", token, nil); a.status != http.StatusOK {
		t.Errorf("the first admin's token after a restart: %d %s", a.status, a.body)
	}
}

// clock is a clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestDeployTimeout checks that a running server fails, by itself, a
// deployment its gateway took and never reported on.
func TestDeployTimeout(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	s := start(t, server.Config{Now: clk.Now, DeployTimeout: time.Second})
	token, api := s.Admin().Token, s.URL()+"/api/v1"
	inst := call(t, "POST", api+"/instances", token, map[string]string{"name": "gw1"})
	var created struct {
		Secret string `json:"gateway_secret"`
	}
	if err := json.Unmarshal([]byte(inst.body), &created); err != nil || inst.status != http.StatusCreated {
		t.Fatalf("create instance: %d %s", inst.status, inst.body)
	}
	d := call(t, "POST", api+"/instances/gw1/deployments", token, map[string]string{"type": "reset"})
	var dep struct{ ID, Status string }
	if err := json.Unmarshal([]byte(d.body), &dep); err != nil || d.status != http.StatusCreated {
		t.Fatalf("create deployment: %d %s", d.status, d.body)
	}
	if a := call(t, "GET", api+"/gateway/desired", created.Secret, nil); a.status != http.StatusOK || !strings.Contains(a.body, dep.ID) {
		t.Fatalf("the gateway's manifest: %d %s, want deployment %s", a.status, a.body, dep.ID)
	}

	clk.advance(2 * time.Second)
	deadline := time.Now().Add(30 * time.Second) // the loop checks every tenth of the timeout
	for {
		a := call(t, "GET", api+"/instances/gw1/deployments/"+dep.ID, token, nil)
		if err := json.Unmarshal([]byte(a.body), &dep); err != nil {
			t.Fatalf("get deployment: %d %s", a.status, a.body)
		}
		if dep.Status == "failed" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment still %s 30 s after its deploy timeout passed", dep.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShutdown checks that Run, told to stop, returns without an error
// and frees the port.
func TestShutdown(t *testing.T) {
	s := start(t, server.Config{})
	addr := strings.TrimPrefix(s.URL(), "http://")
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Run returned", addr)
	}
}

// TestConfigRefused checks the refusals of settings that cannot work,
// each naming its flag.
func TestConfigRefused(t *testing.T) {
	fake := presignerFunc(func(context.Context, string, string, time.Duration) (string, error) { return "", nil })
	for _, tc := range []struct {
		name string
		c    server.Config
		want string
	}{
		{"negative deploy timeout", server.Config{DeployTimeout: -time.Second}, "--deploy-timeout must be positive"},
		{"unknown database", server.Config{Database: "mysql://u:topsecret@h/db"}, "--database must be a postgres:// URL"},
		{"unknown blob store", server.Config{Blobs: "/var/blobs"}, "--blobs must be an s3:// URL"},
		{"presigning without S3", server.Config{BlobsPresign: time.Minute}, "--blobs-presign needs an s3:// blob store"},
		{"presigning too long", server.Config{BlobsPresign: 8 * 24 * time.Hour, Presigner: fake}, "--blobs-presign must be at most 168h"},
		{"negative idle timeout", server.Config{IdleTimeout: -time.Second}, "--idle-timeout must be positive"},
		{"public URL without a scheme", server.Config{PublicURL: "driverhub.example.com"}, "--public-url must be an http:// or https:// URL"},
		{"public URL with a query", server.Config{PublicURL: "https://driverhub.example.com/?a=b"}, "--public-url must be"},
		// A token the server would never accept stops it, rather than being stored.
		{"admin token without its prefix", server.Config{AdminToken: "topsecret-0123456789abcdef0123456789abcdef"}, `DRIVERHUB_ADMIN_TOKEN must be "dht_" followed by`},
		{"admin token too short", server.Config{AdminToken: "dht_topsecret"}, `DRIVERHUB_ADMIN_TOKEN must be "dht_" followed by 32-128`},
		{"admin password too short", server.Config{AdminPassword: "short"}, "DRIVERHUB_ADMIN_PASSWORD must be 8-72 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.DataDir, tc.c.Logger = t.TempDir(), quiet
			srv, err := server.New(context.Background(), tc.c)
			if err == nil {
				srv.Run(canceled())
				t.Fatalf("New succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q, want %q and no password", err, tc.want)
			}
		})
	}
}

type presignerFunc func(ctx context.Context, key, filename string, ttl time.Duration) (string, error)

func (f presignerFunc) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	return f(ctx, key, filename, ttl)
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestGatewaySyncsWrittenOnStop checks that the server writes the gateway
// syncs it holds behind (gatewaysyncs.go) before it stops.
func TestGatewaySyncsWrittenOnStop(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	dir := t.TempDir()
	s := start(t, server.Config{Now: clk.Now, DataDir: dir})
	secret := newGatewaySecret(t, s)
	var inst struct{ ID string }
	if a := call(t, "GET", s.URL()+"/api/v1/instances/edge", s.Admin().Token, nil); json.Unmarshal([]byte(a.body), &inst) != nil || inst.ID == "" {
		t.Fatalf("get instance: %d %s", a.status, a.body)
	}
	for range 2 { // the first sync is written at once; the second, 10 s later, behind
		if a := call(t, "GET", s.URL()+"/api/v1/gateway/desired", secret, nil); a.status != http.StatusOK {
			t.Fatalf("poll: %d %s", a.status, a.body)
		}
		clk.advance(10 * time.Second)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "driverhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var i *driverhub.Instance
	if err := st.View(t.Context(), func(tx driverhub.Tx) (err error) {
		i, err = tx.InstanceByID(t.Context(), inst.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(-10 * time.Second); i.Gateway.LastSeenAt == nil || !i.Gateway.LastSeenAt.Equal(want) {
		t.Errorf("stored sync after the server stopped: %v, want %v (the second poll's)", i.Gateway.LastSeenAt, want)
	}
}
