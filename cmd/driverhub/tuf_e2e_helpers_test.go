package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mitm is an attacker in the middle between the agent and the server, one
// that also holds the server: a reverse proxy that passes everything
// through, remembers the TUF metadata it relayed, and, once armed, rewrites
// the desired state, serves bytes of its own as blobs, replays old metadata
// or freezes the timestamp.
type mitm struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	drv   map[string]func(d map[string]any) // rewrites of the manifest's drivers, by name
	blobs map[string][]byte                 // served at /api/v1/gateway/blobs/<sha256>
	tuf   map[string][]byte                 // metadata served instead of the server's
	seen  map[string][]byte                 // the latest metadata relayed, by file name
	links map[string]map[string]any         // the packages the server named, by "driver version"
}

const (
	gatewayDesired = "/api/v1/gateway/desired"
	gatewayBlobs   = "/api/v1/gateway/blobs/"
	gatewayTUF     = "/api/v1/gateway/tuf/"
)

func newMITM(t *testing.T, server string) *mitm {
	target, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	m := &mitm{t: t, drv: map[string]func(map[string]any){}, blobs: map[string][]byte{}, tuf: map[string][]byte{},
		seen: map[string][]byte{}, links: map[string]map[string]any{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = m.modify
	proxy.ErrorLog = log.New(io.Discard, "", 0) // long polls cut when the agent stops
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := m.forged(r.URL.Path); ok {
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// forged is what the attacker serves at path instead of the server.
func (m *mitm) forged(path string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sha, ok := strings.CutPrefix(path, gatewayBlobs); ok {
		b, ok := m.blobs[sha]
		return b, ok
	}
	if file, ok := strings.CutPrefix(path, gatewayTUF); ok {
		b, ok := m.tuf[file]
		return b, ok
	}
	return nil, false
}

// modify remembers the metadata and packages the server sends, and
// rewrites the desired state as armed.
func (m *mitm) modify(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK || resp.Request.Method != http.MethodGet {
		return nil
	}
	path := resp.Request.URL.Path
	if !strings.HasPrefix(path, gatewayTUF) && path != gatewayDesired {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if file, ok := strings.CutPrefix(path, gatewayTUF); ok {
		m.seen[file] = body
	} else if body, err = m.rewrite(body); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// rewrite applies the armed rewrites to a manifest, after noting the
// package of each driver version it names.
func (m *mitm) rewrite(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var manifest map[string]any
	if err := dec.Decode(&manifest); err != nil {
		return nil, err
	}
	drivers, _ := manifest["drivers"].([]any)
	for _, d := range drivers {
		d := d.(map[string]any)
		if pkg, ok := d["package"].(map[string]any); ok {
			m.links[fmt.Sprint(d["name"], " ", d["version"])] = pkg
		}
		if f := m.drv[fmt.Sprint(d["name"])]; f != nil {
			f(d)
		}
	}
	return json.Marshal(manifest)
}

// swapPackage makes the manifest name other bytes, with their own digest,
// for the driver, and serves them.
func (m *mitm) swapPackage(driver string, evil []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	digest := sum(evil)
	m.blobs[digest] = evil
	m.drv[driver] = func(d map[string]any) {
		d["package"] = map[string]any{"sha256": digest, "size": len(evil), "url": gatewayBlobs + digest}
	}
}

// pointAt makes the manifest name an earlier version of the driver, with
// the package the server named for it then.
func (m *mitm) pointAt(driver, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pkg := m.links[driver+" "+version]
	if pkg == nil {
		m.t.Fatalf("the server never named a package for %s %s", driver, version)
	}
	m.drv[driver] = func(d map[string]any) { d["version"], d["package"] = version, pkg }
}

// recorded is a copy of the metadata relayed so far.
func (m *mitm) recorded() map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range m.seen {
		out[k] = v
	}
	return out
}

// serveTUF makes the attacker answer file with b.
func (m *mitm) serveTUF(file string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tuf[file] = b
}

// freezeTimestamp keeps serving the timestamp the agent saw last, and
// returns when it expires.
func (m *mitm) freezeTimestamp() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.seen["timestamp.json"]
	if ts == nil {
		m.t.Fatal("no timestamp relayed yet")
	}
	m.tuf["timestamp.json"] = ts
	return metadataExpiry(m.t, ts)
}

// disarm makes the proxy pass everything through again.
func (m *mitm) disarm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drv, m.blobs, m.tuf = map[string]func(map[string]any){}, map[string][]byte{}, map[string][]byte{}
}

// metadataExpiry reads signed.expires of TUF metadata.
func metadataExpiry(t testing.TB, b []byte) time.Time {
	var md struct {
		Signed struct {
			Expires time.Time `json:"expires"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatalf("metadata %s: %v", b, err)
	}
	return md.Signed.Expires
}

// metaVersion reads the version a timestamp or snapshot names for file
// (snapshot.json, targets.json).
func metaVersion(t testing.TB, b []byte, file string) int64 {
	var md struct {
		Signed struct {
			Meta map[string]struct {
				Version int64 `json:"version"`
			} `json:"meta"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatalf("metadata %s: %v", b, err)
	}
	return md.Signed.Meta[file].Version
}

// tufE2E is a tenant that signs its drivers, its server (timestamps that
// expire after 10 s, re-signed every 5 s), a gateway pinned to its root,
// and the attacker between them. The tenant's people use the CLI with the
// offline keys in keys.
type tufE2E struct {
	*e2e
	mitm *mitm
	cli  *cliEnv
	keys string // the offline root and targets keys
	root string // the root.json the agent is pinned with
}

func newTUFE2E(t *testing.T) *tufE2E {
	t.Helper()
	e := &e2e{t: t, data: t.TempDir(), inst: "gw", agentDir: t.TempDir(), runtime: "process"}
	prepareDriverUsers(t, e.agentDir)
	real := startServer(t, e.data, "--tuf-timestamp-expiry", "10s")
	te := &tufE2E{e2e: e, mitm: newMITM(t, real.url), keys: filepath.Join(t.TempDir(), "keys")}
	// Every call goes through the attacker: the agent's, and the API's too.
	e.srv = &server{cmd: real.cmd, url: te.mitm.srv.URL, logs: real.logs}
	te.cli = cliAt(t, real)
	var inst struct {
		Secret string `json:"gateway_secret"`
	}
	e.api("POST", "/api/v1/instances", map[string]any{"name": e.inst}, 201, &inst)
	e.secret = inst.Secret
	t.Cleanup(func() { te.cleanup(real) })

	te.cli.ok("trust", "init", "--keys", te.keys)
	te.root = filepath.Join(t.TempDir(), "root.json")
	writeFile(t, te.root, []byte(te.cli.ok("trust", "export-root")))
	e.args = []string{"--trust-root", te.root}
	e.agent = e.startAgent()
	return te
}

// cleanup stops the agent, kills any driver left, and shows what happened
// when the test failed.
func (te *tufE2E) cleanup(real *server) {
	t := te.t
	if te.agent != nil {
		te.agent.stop(t)
	}
	for _, pid := range procsUnder(te.agentDir + "/") {
		t.Errorf("process %d (%s) still runs under the agent's directory after the agent stopped: killed", pid, cmdline(pid))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if t.Failed() {
		if te.agent != nil {
			t.Logf("agent output (tail):\n%s", lastLines(te.agent.out.String(), 60))
		}
		real.kill()
		t.Logf("server output (tail):\n%s", lastLines(real.logs.String(), 30))
	}
}

// cliAt is the command-line client of the tenant's people, with the admin
// token, talking to srv directly.
func cliAt(t *testing.T, srv *server) *cliEnv {
	c := &cliEnv{t: t, srv: srv, home: t.TempDir(), token: adminToken}
	c.config = filepath.Join(c.home, "config")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIVERHUB_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env, "HOME="+c.home, "XDG_CONFIG_HOME="+c.config, "DRIVERHUB_SERVER="+srv.url, "DRIVERHUB_TOKEN="+adminToken)
	return c
}

// push pushes a python3 sample driver version, published, and signed
// when sign is set (`driver push --publish --sign`).
func (te *tufE2E) push(cli *cliEnv, driver, version string, sign bool) {
	te.t.Helper()
	dir := te.t.TempDir()
	writeFile(te.t, filepath.Join(dir, "index.py"), sampleSource(te.t, "python3", "index.py", version))
	args := []string{"driver", "push", dir, "--driver", driver, "--version", version, "--min-edge-version", "1.0.0", "--publish"}
	if sign {
		args = append(args, "--sign", "--keys", te.keys)
	}
	cli.ok(args...)
}

// running waits until version of the driver runs, and returns its pid.
func (te *tufE2E) running(driver, version string) int {
	te.t.Helper()
	rep := waitReport(te.t, te.reportPath(driver), version+" runs", func(r report) bool { return r["version"] == version })
	te.waitRuntime(driver, "running "+version, func(r runtimeView) bool { return r.State == "running" && r.Version == version })
	return rep.pid(te.t)
}

// refused deploys and checks that the agent refused the driver at verify
// with a message starting with reason, while pid (the version that ran
// before) runs on: the same process, the only one.
func (te *tufE2E) refused(driver, reason string, pid int, version string) {
	t := te.t
	t.Helper()
	d := te.deploy("deploy")
	if d.Status != "failed" {
		t.Errorf("deployment %s is %s, want failed at verify with %s", d.ID, d.Status, reason)
	}
	found := false
	for _, r := range d.Resources {
		if r.Type != "driver" || r.Name != driver {
			continue
		}
		for _, l := range r.Log {
			found = found || (l.Stage == "verify" && strings.HasPrefix(l.Message, reason+": "))
		}
		if r.Stage != "verify" || r.Status != "failed" || !found {
			t.Errorf("driver %s: %s/%s with log %+v; want failed at verify, a message starting with %q", driver, r.Stage, r.Status, r.Log, reason+": ")
		}
	}
	if !found {
		t.Errorf("deployment %s (%s): no verify failure of %s starting with %q: %+v", d.ID, d.Reason, driver, reason, d.Resources)
	}
	if got := onlyOne(t, te.e2e, driver); got != pid || !pidAlive(pid) {
		t.Errorf("the running process is %d, want %s's %d untouched", got, version, pid)
	}
	te.waitRuntime(driver, version+" running", func(r runtimeView) bool { return r.State == "running" && r.Version == version })
}
