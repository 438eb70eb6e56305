package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// gwClock is a clock a test moves by hand; the server reads it from its
// own goroutines, hence the lock.
type gwClock struct {
	mu sync.Mutex
	t  time.Time
}

func newGWClock() *gwClock { return &gwClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *gwClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *gwClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gwServer starts a server on a clock the test controls, with the given
// long-poll period.
func gwServer(t testing.TB, poll time.Duration) (*apitest.Server, *gwClock) {
	t.Helper()
	c := newGWClock()
	// The server's own deploy-timeout loop reads the same fake clock: with a
	// timeout far beyond any test's Advance it never races the tests that
	// call FailStaleDeployments themselves.
	return apitest.New(t, apitest.Options{Now: c.Now, PollPeriod: poll, DeployTimeout: 10 * 365 * 24 * time.Hour}), c
}

// gwSim is a simulated edge agent: a plain HTTP client that holds an
// instance's gateway secret.
type gwSim struct {
	s      *apitest.Server
	secret string
}

// do sends a gateway API request; header pairs are added to the request.
func (g *gwSim) do(t testing.TB, method, path string, body any, header ...string) *apitest.Response {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		return g.s.Do(t, method, path, g.secret, body)
	}
	var req *http.Request
	if rd == nil {
		req = request(t, g.s, method, path, g.secret, nil)
	} else {
		req = request(t, g.s, method, path, g.secret, rd)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, g.s, req)
}

// desired fetches the manifest, with If-None-Match when etag is not "".
func (g *gwSim) desired(t testing.TB, etag, query string) *apitest.Response {
	t.Helper()
	var h []string
	if etag != "" {
		h = []string{"If-None-Match", etag}
	}
	return g.do(t, "GET", "/api/v1/gateway/desired"+query, nil, h...)
}

// manifest fetches the manifest and fails unless the answer is 200.
func (g *gwSim) manifest(t testing.TB) map[string]any {
	t.Helper()
	r := g.desired(t, "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET desired: status %d: %s", r.Status, r.Body)
	}
	return object(t, r)
}

// report posts a report and fails unless it is accepted (204).
func (g *gwSim) report(t testing.TB, body any) {
	t.Helper()
	if r := g.do(t, "POST", "/api/v1/gateway/report", body); r.Status != http.StatusNoContent {
		t.Fatalf("POST report: status %d, want 204: %s", r.Status, r.Body)
	}
}

// reportDeployment reports progress on a deployment.
func (g *gwSim) reportDeployment(t testing.TB, id, status string) {
	t.Helper()
	g.report(t, map[string]any{"deployment": map[string]any{"id": id, "status": status}})
}

func gwInstPath(name string) string { return "/api/v1/instances/" + url.PathEscape(name) }

func gwBindingPath(inst, driver string) string {
	return gwInstPath(inst) + "/drivers/" + url.PathEscape(driver)
}

func gwAssocPath(inst, product, name string) string {
	return gwInstPath(inst) + "/devices/" + url.PathEscape(product) + "/" + url.PathEscape(name)
}

func gwDevicePath(product, name string) string {
	return "/api/v1/devices/" + url.PathEscape(product) + "/" + url.PathEscape(name)
}

func gwDeploymentsPath(inst string) string { return gwInstPath(inst) + "/deployments" }

// gwNewInstance creates an instance and returns its gateway.
func gwNewInstance(t testing.TB, s *apitest.Server, token, name string) *gwSim {
	t.Helper()
	m := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/instances", token, map[string]any{"name": name}))
	secret, _ := m["gateway_secret"].(string)
	if !strings.HasPrefix(secret, "dhg_") {
		t.Fatalf("create instance %s: gateway_secret %q, want dhg_…", name, secret)
	}
	return &gwSim{s: s, secret: secret}
}

// gwNewVersionWith creates a draft version with extra fields.
func gwNewVersionWith(t testing.TB, s *apitest.Server, token, driver, version string, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"version": version, "min_edge_version": "1.0.0"}
	for k, v := range extra {
		body[k] = v
	}
	return object(t, s.Must(t, http.StatusCreated, "POST", driverPath(driver)+"/versions", token, body))
}

// gwUploadPackage uploads pkg to a draft.
func gwUploadPackage(t testing.TB, s *apitest.Server, token, driver, version string, pkg []byte) {
	t.Helper()
	if r := putPackage(t, s, token, driver, version, pkg); r.Status != http.StatusOK {
		t.Fatalf("PUT package %s/%s: status %d: %s", driver, version, r.Status, r.Body)
	}
}

// gwPublish publishes a version.
func gwPublish(t testing.TB, s *apitest.Server, token, driver, version string) {
	t.Helper()
	s.Must(t, http.StatusOK, "POST", versionPath(driver, version)+"/publish", token, nil)
}

// gwPublishedPython creates a python3 driver (unless exists) with a published
// version holding pkg; pkg nil makes one.
func gwPublishedPython(t testing.TB, s *apitest.Server, token, driver, version string, pkg []byte) []byte {
	t.Helper()
	if r := s.Do(t, "GET", driverPath(driver), token, nil); r.Status == http.StatusNotFound {
		newDriver(t, s, token, driver, "python3")
	}
	if pkg == nil {
		pkg = pyPackage(t, "print('"+driver+" "+version+"')\n")
	}
	newVersion(t, s, token, driver, version)
	gwUploadPackage(t, s, token, driver, version, pkg)
	gwPublish(t, s, token, driver, version)
	return pkg
}

// gwBind binds a driver with the given body (nil: defaults) and returns the binding.
func gwBind(t testing.TB, s *apitest.Server, token, inst, driver string, body any) map[string]any {
	t.Helper()
	return object(t, s.Must(t, http.StatusOK, "PUT", gwBindingPath(inst, driver), token, body))
}

// gwNewDevice creates a device.
func gwNewDevice(t testing.TB, s *apitest.Server, token, product, name string) {
	t.Helper()
	s.Must(t, http.StatusCreated, "POST", "/api/v1/devices", token, map[string]any{"product": product, "name": name})
}

// gwAssociate puts a device on an instance with a driver and a config (nil: none).
func gwAssociate(t testing.TB, s *apitest.Server, token, inst, product, name, driver string, config any) map[string]any {
	t.Helper()
	body := map[string]any{"driver": driver}
	if config != nil {
		body["config"] = config
	}
	return object(t, s.Must(t, http.StatusOK, "PUT", gwAssocPath(inst, product, name), token, body))
}

// gwDeploy creates a deployment of the type and returns it.
func gwDeploy(t testing.TB, s *apitest.Server, token, inst, typ string) map[string]any {
	t.Helper()
	return object(t, s.Must(t, http.StatusCreated, "POST", gwDeploymentsPath(inst), token, map[string]any{"type": typ}))
}

// gwDeployment reads a deployment.
func gwDeployment(t testing.TB, s *apitest.Server, token, inst, id string) map[string]any {
	t.Helper()
	return object(t, s.Must(t, http.StatusOK, "GET", gwDeploymentsPath(inst)+"/"+id, token, nil))
}

// gwWantStatus fails unless the deployment has the status.
func gwWantStatus(t testing.TB, s *apitest.Server, token, inst, id, want string) map[string]any {
	t.Helper()
	d := gwDeployment(t, s, token, inst, id)
	if d["status"] != want {
		t.Errorf("deployment %s: status %v, want %s (reason %v)", id, d["status"], want, d["reason"])
	}
	return d
}

// gwGatewayView reads an instance's gateway view.
func gwGatewayView(t testing.TB, s *apitest.Server, token, inst string) map[string]any {
	t.Helper()
	g, ok := object(t, s.Must(t, http.StatusOK, "GET", gwInstPath(inst), token, nil))["gateway"].(map[string]any)
	if !ok {
		t.Fatalf("instance %s has no gateway object", inst)
	}
	return g
}

// gwProblemCodes returns the codes of a 422's problems.
func gwProblemCodes(t testing.TB, r *apitest.Response) []string {
	t.Helper()
	e := wantError(t, r, http.StatusUnprocessableEntity, "failed_precondition", "")
	var out []string
	for _, p := range e.Problems {
		if p.Resource == "" || p.Message == "" {
			t.Errorf("problem without resource or message: %+v", p)
		}
		out = append(out, string(p.Code))
	}
	return out
}

// gwStr is a JSON string field of an object ("" if absent or not a string).
func gwStr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
