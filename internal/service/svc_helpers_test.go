package service_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/notify"
	"github.com/driverhub/driverhub/internal/service"
	"github.com/driverhub/driverhub/internal/sqlite"
)

// The service tests run the business rules directly, over a real SQLite
// database and a real blob directory, with a clock the test moves: rules
// about time (session expiry, deploy timeouts, gateway online) are checked
// without sleeping.

// adminPassword is the bootstrap admin's password in every test service.
const adminPassword = "bootstrap-secret"

// t0 is where every test clock starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testClock is the injected clock: it moves only when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// testService is a Service with its store, database file and clock.
type testService struct {
	*service.Service
	store  driverhub.Store
	blobs  driverhub.BlobStore
	dbPath string
	clock  *testClock
	// admin calls as the bootstrap admin of tenant "default", a system admin.
	admin      context.Context
	adminToken string
}

// option changes the configuration of a test service.
type option func(*service.Config)

// asReplicas returns an option that makes the services built with it
// replicas of one deployment: they share a notifier, as PostgreSQL's
// LISTEN/NOTIFY makes real replicas share one, and so none of them takes
// itself for the only server (which keeps what it learns of gateways).
func asReplicas() option {
	n := notify.NewLocal()
	return func(c *service.Config) { c.Notifier = n }
}

// openTestService builds a Service on an empty database.
func openTestService(t testing.TB, opts ...option) *testService {
	t.Helper()
	dir := t.TempDir()
	ts := &testService{dbPath: filepath.Join(dir, "driverhub.db"), clock: &testClock{now: t0}}
	store, err := sqlite.Open(context.Background(), ts.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ts.store, ts.blobs = store, blobs
	ts.Service = ts.replica(t, opts...)
	return ts
}

// replica builds a Service over ts's database, blobs and clock, as another
// server of the same deployment would be: the one place the tests call
// service.New.
func (ts *testService) replica(t testing.TB, opts ...option) *service.Service {
	t.Helper()
	c := service.Config{Store: ts.store, Blobs: ts.blobs, Now: ts.clock.Now, BcryptCost: 4,
		Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	svc, err := service.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// newTestService is openTestService with tenant "default" bootstrapped.
func newTestService(t testing.TB, opts ...option) *testService {
	t.Helper()
	ts := openTestService(t, opts...)
	a, err := ts.Bootstrap(context.Background(), adminPassword, "")
	if err != nil || a == nil {
		t.Fatalf("Bootstrap = %v, %v", a, err)
	}
	ts.adminToken = a.Token
	ts.admin = ts.tokenCtx(t, a.Token)
	return ts
}

// tokenCtx is a request context authenticated by an API token, as the
// REST API builds it.
func (ts *testService) tokenCtx(t testing.TB, token string) context.Context {
	t.Helper()
	p, err := ts.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return driverhub.WithPrincipal(context.Background(), p)
}

// userCtx creates a user of the tenant admin belongs to, and returns a
// context of that user signed in with its password (as the console does).
func (ts *testService) userCtx(t testing.TB, admin context.Context, username string, role driverhub.Role) context.Context {
	t.Helper()
	pw := "password-" + username
	if _, err := ts.CreateUser(admin, driverhub.UserInput{Username: &username, Password: &pw, Role: &role}); err != nil {
		t.Fatalf("CreateUser %s: %v", username, err)
	}
	p, err := ts.Login(context.Background(), driverhub.PrincipalFrom(admin).TenantName+"/"+username, pw)
	if err != nil {
		t.Fatalf("Login %s: %v", username, err)
	}
	return driverhub.WithPrincipal(context.Background(), p)
}

// tenantCtx creates a tenant and returns a context of its admin.
func (ts *testService) tenantCtx(t testing.TB, name string) context.Context {
	t.Helper()
	nt, err := ts.CreateTenant(ts.admin, name)
	if err != nil {
		t.Fatalf("CreateTenant %s: %v", name, err)
	}
	return ts.tokenCtx(t, nt.Token)
}

// gatewayCtx is a gateway request context, authenticated by the instance's
// secret as the REST API does for each request.
func (ts *testService) gatewayCtx(t testing.TB, secret string) context.Context {
	t.Helper()
	i, err := ts.AuthenticateGateway(context.Background(), secret)
	if err != nil {
		t.Fatalf("AuthenticateGateway: %v", err)
	}
	return driverhub.WithGateway(context.Background(), i)
}

// exec changes the database behind the service's back, for states the
// service never produces itself.
func (ts *testService) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file://"+ts.dbPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func ptr[T any](v T) *T { return &v }

// must(f())(t) is f's value, or the end of the test when f failed.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is a driverhub.Error with the code and the field.
func wantErr(t testing.TB, err error, code, field string) *driverhub.Error {
	t.Helper()
	e, isErr := driverhub.AsError(err)
	if !isErr {
		t.Fatalf("got error %v, want code %s (field %q)", err, code, field)
	}
	if e.Code != code || e.Field != field {
		t.Fatalf("got %v (code %s, field %q), want code %s, field %q", err, e.Code, e.Field, code, field)
	}
	return e
}

// problemCodes returns the sorted problem codes of a failed_precondition.
func problemCodes(t testing.TB, err error) []string {
	t.Helper()
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	var codes []string
	for _, p := range e.Problems {
		codes = append(codes, string(p.Code))
	}
	slices.Sort(codes)
	return codes
}

func codes(cs ...driverhub.ProblemCode) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	slices.Sort(out)
	return out
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// zipOf builds a zip of name, content pairs.
func zipOf(t testing.TB, nameContent ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(nameContent); i += 2 {
		f, err := w.Create(nameContent[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(nameContent[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// packageFor is a valid package for a runtime: its entry file and a library.
func packageFor(t testing.TB, runtime driverhub.Runtime, marker string) []byte {
	t.Helper()
	return zipOf(t, runtime.EntryFile(), marker, "lib/helper.txt", "helper")
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// driverIn is the input of a driver; a C driver is built for armv7.
func driverIn(name string, runtime driverhub.Runtime) driverhub.DriverInput {
	in := driverhub.DriverInput{Name: &name, Protocol: ptr("modbus"), Runtime: &runtime}
	if runtime == "c" {
		in.CPUArch = ptr("armv7")
	}
	return in
}

func (ts *testService) newDriver(t testing.TB, ctx context.Context, in driverhub.DriverInput) *driverhub.Driver {
	t.Helper()
	return must(ts.CreateDriver(ctx, in))(t)
}

// newVersion adds a draft needing edge 1.0.0, changed by mods.
func (ts *testService) newVersion(t testing.TB, ctx context.Context, driver, version string, mods ...func(*driverhub.VersionInput)) *driverhub.DriverVersion {
	t.Helper()
	in := driverhub.VersionInput{Version: &version, MinEdgeVersion: ptr("1.0.0")}
	for _, m := range mods {
		m(&in)
	}
	return must(ts.CreateVersion(ctx, driver, in))(t)
}

// upload puts a valid package on a draft and returns the version.
func (ts *testService) upload(t testing.TB, ctx context.Context, driver, version string) *driverhub.DriverVersion {
	t.Helper()
	d := must(ts.GetDriver(ctx, driver))(t)
	return must(ts.PutPackage(ctx, driver, version, "", bytes.NewReader(packageFor(t, d.Runtime, driver+"/"+version))))(t)
}

// ready creates a driver with version "1" published: with its package,
// unless the driver is built-in.
func (ts *testService) ready(t testing.TB, ctx context.Context, in driverhub.DriverInput, mods ...func(*driverhub.VersionInput)) *driverhub.DriverVersion {
	t.Helper()
	d := ts.newDriver(t, ctx, in)
	ts.newVersion(t, ctx, d.Name, "1", mods...)
	if !d.Builtin {
		ts.upload(t, ctx, d.Name, "1")
	}
	return must(ts.PublishVersion(ctx, d.Name, "1"))(t)
}

func (ts *testService) newInstance(t testing.TB, ctx context.Context, name string) *driverhub.Instance {
	t.Helper()
	return must(ts.CreateInstance(ctx, driverhub.InstanceInput{Name: &name}))(t)
}

// bind binds a driver of the caller's tenant at a version ("": the default).
func (ts *testService) bind(t testing.TB, ctx context.Context, instance, driver, version string) *driverhub.Binding {
	t.Helper()
	var in driverhub.BindingInput
	if version != "" {
		in.Version = &version
	}
	return must(ts.Bind(ctx, instance, driver, in))(t)
}

// device creates a device and, when instance is set, associates it with
// a driver bound there and a config (nil: none).
func (ts *testService) device(t testing.TB, ctx context.Context, product, name, instance, driver, config string) *driverhub.Device {
	t.Helper()
	d := must(ts.CreateDevice(ctx, driverhub.DeviceInput{Product: product, Name: name}))(t)
	if instance == "" {
		return d
	}
	a := driverhub.DeviceAssociation{Driver: driver}
	if config != "" {
		a.Config = []byte(config)
	}
	return must(ts.AssociateDevice(ctx, instance, product, name, a))(t)
}

func (ts *testService) deploy(t testing.TB, ctx context.Context, instance string) *driverhub.Deployment {
	t.Helper()
	return must(ts.CreateDeployment(ctx, instance, driverhub.DeployTypeDeploy))(t)
}

func (ts *testService) deployment(t testing.TB, ctx context.Context, instance, id string) *driverhub.Deployment {
	t.Helper()
	return must(ts.GetDeployment(ctx, instance, id))(t)
}

// fetch is a gateway's conditional poll without waiting.
func (ts *testService) fetch(t testing.TB, secret, etag string) (*driverhub.Manifest, string) {
	t.Helper()
	m, e, err := ts.Desired(ts.gatewayCtx(t, secret), etag, 0)
	if err != nil {
		t.Fatalf("Desired: %v", err)
	}
	return m, e
}

func (ts *testService) report(t testing.TB, secret string, r driverhub.GatewayReport) {
	t.Helper()
	ok(t, ts.Report(ts.gatewayCtx(t, secret), r))
}

// readAll reads and closes a download.
func readAll(t testing.TB, d *driverhub.Download) []byte {
	t.Helper()
	defer d.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(d.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// contains fails unless s holds every part.
func contains(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s %q does not mention %q", what, s, p)
		}
	}
}
