package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

// testGateway stands in for the server: it serves blobs and records the
// agent's reports.
type testGateway struct {
	srv     *httptest.Server
	mu      sync.Mutex
	blobs   map[string][]byte // served at /blobs/<name>
	reports []driverhub.GatewayReport
	// logs are the driver output lines received, by driver; logBodies the
	// size of every log request's body, accepted or not.
	logs      map[string][]driverhub.LogLine
	logBodies []int
	// events lists, in order, "logs <driver>" for each batch accepted and
	// "report <deployment status>" for each report of a deployment.
	events []string
	// refuseLogs, when set, answers a log batch (numbered from 1) with
	// this status instead of taking it; 0 takes it.
	refuseLogs func(batch int) int
	// refuseReport, when set, answers a report with this status instead
	// of taking it; 0 takes it.
	refuseReport func(r driverhub.GatewayReport) int
}

func newTestGateway(t *testing.T) *testGateway {
	gw := &testGateway{blobs: map[string][]byte{}, logs: map[string][]driverhub.LogLine{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /blobs/{name}", func(w http.ResponseWriter, r *http.Request) {
		gw.mu.Lock()
		b, ok := gw.blobs[r.PathValue("name")]
		gw.mu.Unlock()
		if !ok {
			http.Error(w, `{"code":"not_found","message":"no such blob"}`, http.StatusNotFound)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	})
	mux.HandleFunc("POST /api/v1/gateway/report", func(w http.ResponseWriter, r *http.Request) {
		var rep driverhub.GatewayReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gw.mu.Lock()
		if gw.refuseReport != nil {
			if status := gw.refuseReport(rep); status != 0 {
				gw.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"code":%q,"message":"refused by the test gateway"}}`, apierror.CodeFor(status))
				return
			}
		}
		gw.reports = append(gw.reports, rep)
		if rep.Deployment != nil {
			gw.events = append(gw.events, "report "+string(rep.Deployment.Status))
		}
		gw.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/gateway/logs", gw.takeLogs)
	gw.srv = httptest.NewServer(mux)
	t.Cleanup(gw.srv.Close)
	return gw
}

// takeLogs is the server's log endpoint: it refuses bodies over
// MaxGatewayBodyBytes with 413, as the server does.
func (gw *testGateway) takeLogs(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	gw.logBodies = append(gw.logBodies, len(body))
	status := 0
	if gw.refuseLogs != nil {
		status = gw.refuseLogs(len(gw.logBodies))
	}
	if len(body) > driverhub.MaxGatewayBodyBytes {
		status = http.StatusRequestEntityTooLarge
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":"refused by the test gateway"}}`, apierror.CodeFor(status))
		return
	}
	var batch struct {
		Driver string              `json:"driver"`
		Lines  []driverhub.LogLine `json:"lines"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gw.logs[batch.Driver] = append(gw.logs[batch.Driver], batch.Lines...)
	gw.events = append(gw.events, "logs "+batch.Driver)
	w.WriteHeader(http.StatusNoContent)
}

// received is the text of the lines received from a driver.
func (gw *testGateway) received(driver string) []string {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	var out []string
	for _, l := range gw.logs[driver] {
		out = append(out, l.Text)
	}
	return out
}

// eventLog is a copy of the gateway's events.
func (gw *testGateway) eventLog() []string {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	return slices.Clone(gw.events)
}

// lastReport is the latest report, nil before any.
func (gw *testGateway) lastReport() *driverhub.GatewayReport {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.reports) == 0 {
		return nil
	}
	r := gw.reports[len(gw.reports)-1]
	return &r
}

// pkg serves a python3 driver package whose fake runtime behaviour is
// behaviour, with extra files, and links to it.
func (gw *testGateway) pkg(t *testing.T, behaviour string, extra ...string) *driverhub.BlobLink {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	files := append([]string{driverhub.RuntimePython3.EntryFile(), "print('hi')\n", fakeBehaviourFile, behaviour}, extra...)
	for i := 0; i < len(files); i += 2 {
		w, err := z.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return gw.serve(buf.Bytes(), buf.Bytes())
}

// serve links to a blob whose digest and size are those of want, served
// with the bytes of got.
func (gw *testGateway) serve(want, got []byte) *driverhub.BlobLink {
	sum := sha256.Sum256(want)
	digest := hex.EncodeToString(sum[:])
	gw.mu.Lock()
	gw.blobs[digest] = got
	gw.mu.Unlock()
	return &driverhub.BlobLink{SHA256: digest, Size: int64(len(want)), URL: gw.srv.URL + "/blobs/" + digest}
}

// resourceLog is what the server learnt of one resource of a deployment:
// its last stage and status, and every log line sent.
type resourceLog struct {
	stage  driverhub.Stage
	status driverhub.DeployStatus
	lines  []string
}

// deployment gathers the reports of a deployment: its last status and
// reason, and each resource by "type name".
func (gw *testGateway) deployment(id string) (status driverhub.DeployStatus, reason string, res map[string]*resourceLog) {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	res = map[string]*resourceLog{}
	for _, rep := range gw.reports {
		d := rep.Deployment
		if d == nil || d.ID != id {
			continue
		}
		status, reason = d.Status, d.Reason
		for _, r := range d.Resources {
			key := string(r.Type) + " " + r.Name
			rl := res[key]
			if rl == nil {
				rl = &resourceLog{}
				res[key] = rl
			}
			rl.stage, rl.status = r.Stage, r.Status
			for _, e := range r.Log {
				rl.lines = append(rl.lines, e.Message)
			}
		}
	}
	return status, reason, res
}

// lastDrivers is the driver list of the latest report.
func (gw *testGateway) lastDrivers() []driverhub.DriverReport {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.reports) == 0 {
		return nil
	}
	return gw.reports[len(gw.reports)-1].Drivers
}

// testAgent is an agent on a fake runtime, talking to a test gateway.
type testAgent struct {
	*Agent
	rt *fakeRuntime
	gw *testGateway
}

// healthyAfter is the health period of the tests: a fake driver that is
// "up" never exits, so a short one decides nothing by timing.
const healthyAfter = 50 * time.Millisecond

func newTestAgent(t *testing.T) *testAgent {
	t.Helper()
	rt, gw := newFakeRuntime(), newTestGateway(t)
	a, err := New(Config{Server: gw.srv.URL, Secret: "test-secret", Dir: t.TempDir(), Runtime: rt,
		HealthyAfter: healthyAfter, Logger: slog.New(slog.DiscardHandler),
		VersionCommands: map[driverhub.Runtime][]string{}}) // no interpreter is asked
	if err != nil {
		t.Fatal(err)
	}
	if a.state, err = a.loadState(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stopAll() })
	return &testAgent{Agent: a, rt: rt, gw: gw}
}

// deploy applies a deployment of the drivers, as the sync loop does.
func (ta *testAgent) deploy(id string, drivers ...driverhub.ManifestDriver) {
	ta.apply(context.Background(), &driverhub.Manifest{DeploymentID: id, Type: driverhub.DeployTypeDeploy, Drivers: drivers}, "etag-"+id)
}

// driverOf makes a manifest entry for a python3 driver with one device.
func driverOf(name, version string, pkg *driverhub.BlobLink) driverhub.ManifestDriver {
	md := driverhub.ManifestDriver{ID: "id-" + name, Name: name, Version: version, Package: pkg,
		RuntimeConfig: driverhub.RuntimeConfig{DeviceList: []driverhub.RuntimeDevice{{ProductKey: "pk", DeviceName: name + "-dev", Custom: "{}"}}}}
	md.Runtime = driverhub.RuntimePython3
	return md
}

// has reports whether some line holds want.
func has(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// statuses lists a deployment's status in each report, in order.
func (gw *testGateway) statuses(id string) []driverhub.DeployStatus {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	var out []driverhub.DeployStatus
	for _, rep := range gw.reports {
		if rep.Deployment != nil && rep.Deployment.ID == id {
			out = append(out, rep.Deployment.Status)
		}
	}
	return out
}
