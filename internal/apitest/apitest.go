// Package apitest runs a real driverhub server on 127.0.0.1:0 for tests:
// internal/server, as `driverhub server` runs it, on a temporary SQLite
// database and filesystem blob store, or on PostgreSQL and an S3 store
// when DRIVERHUB_TEST_DATABASE and DRIVERHUB_TEST_BLOBS name them.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
	"github.com/driverhub/driverhub/internal/server"
	"github.com/driverhub/driverhub/internal/service"
)

// The API suite runs on SQLite and the filesystem unless these select
// PostgreSQL and an S3 store (as .ci/run does in a second pass); each
// server then gets a fresh schema and a fresh key prefix.
const (
	// DatabaseEnv holds a postgres:// URL.
	DatabaseEnv = "DRIVERHUB_TEST_DATABASE"
	// BlobsEnv holds an s3:// URL, as --blobs takes it, with the
	// credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	BlobsEnv = "DRIVERHUB_TEST_BLOBS"
)

// Server is a running server and the admin token of its default tenant.
type Server struct {
	URL        string
	AdminToken string
	Service    *service.Service
	Store      driverhub.Store
	Blobs      driverhub.BlobStore
	// API is the REST and gateway API alone; Handler is the whole server
	// (API, health, metrics and console), for requests served in-process.
	API     *httpapi.Server
	Handler http.Handler
	Client  *http.Client
}

// Options change the server a test gets.
type Options struct {
	// Now is the service's clock (default time.Now).
	Now func() time.Time
	// PollPeriod is the gateways' long-poll period (default 30 s).
	PollPeriod time.Duration
	// DeployTimeout fails processing deployments without a final report
	// for this long, on Now's clock (default 10 min, as in production).
	DeployTimeout time.Duration
	// Presigner, when set, makes downloads redirect (--blobs-presign).
	Presigner httpapi.Presigner
	// DataDir is the server's --data (default a fresh temporary directory).
	DataDir string
	// TenantQuota is --tenant-quota (default none).
	TenantQuota int64
}

// New starts a server that stops when the test ends.
func New(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	c := server.Config{DataDir: o.DataDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PollPeriod: o.PollPeriod, DeployTimeout: o.DeployTimeout, Presigner: o.Presigner,
		Now: o.Now, BcryptCost: 4, StrictI18n: true, TenantQuota: o.TenantQuota}
	if base := os.Getenv(DatabaseEnv); base != "" {
		c.Database = pgtest.Fresh(t, base)
		// Replicas on PostgreSQL share a secret key for TUF; on SQLite
		// the server makes one in its data directory.
		c.SecretKey = strings.Repeat("5a", 32)
	}
	if base := os.Getenv(BlobsEnv); base != "" {
		c.Blobs = s3test.Fresh(t, base)
	}
	srv, err := server.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		stop()
		if err := <-ran; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return &Server{URL: srv.URL(), AdminToken: srv.Admin().Token, Service: srv.Service(), Store: srv.Store(),
		Blobs: srv.Blobs(), API: srv.API(), Handler: srv.Handler(), Client: client}
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test on error.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Error returns the error object of an error answer.
func (r *Response) Error(t testing.TB) apierror.Detail {
	t.Helper()
	var e apierror.Body
	r.Decode(t, &e)
	return e.Error
}

// Do sends a request with the token (none when ""). A body that is an
// io.Reader is sent raw; anything else as JSON; nil as no body.
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	CheckOpenAPI(t, resp, data)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Must sends a request and fails the test unless the status is want.
func (s *Server) Must(t testing.TB, want int, method, path, token string, body any) *Response {
	t.Helper()
	r := s.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Token creates a user of the given role in the tenant of adminToken and
// returns an API token of that user.
func (s *Server) Token(t testing.TB, adminToken string, role driverhub.Role) string {
	t.Helper()
	ctx := context.Background()
	admin, err := s.Service.Authenticate(ctx, adminToken)
	if err != nil {
		t.Fatal(err)
	}
	name := string(role) + "-" + driverhub.NewSecret("", 4)
	password := "password-" + name
	s.Must(t, http.StatusCreated, "POST", "/api/v1/users", adminToken, map[string]any{"username": name, "password": password, "role": role})
	p, err := s.Service.Login(ctx, admin.TenantName+"/"+name, password)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Service.CreateToken(driverhub.WithPrincipal(ctx, p), "test", role)
	if err != nil {
		t.Fatal(err)
	}
	return k.Token
}

// NewTenant creates a tenant and returns its admin token.
func (s *Server) NewTenant(t testing.TB, name string) string {
	t.Helper()
	var nt driverhub.NewTenant
	s.Must(t, http.StatusCreated, "POST", "/api/v1/tenants", s.AdminToken, map[string]string{"name": name}).Decode(t, &nt)
	return nt.Token
}
