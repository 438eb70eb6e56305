package main_test

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/testenv"
)

// Bounds of the end-to-end waits: generous, since several servers, agents
// and JVMs share two cores.
const (
	deployWait = 90 * time.Second
	reportWait = 45 * time.Second
)

// e2e is one end-to-end setup: a driverhub server child process on a fresh
// data directory, an instance, and a driverhub agent child process for it.
type e2e struct {
	t        *testing.T
	data     string // the server's data directory
	srv      *server
	inst     string // the instance's name
	secret   string // its gateway secret
	agentDir string
	runtime  string   // the agent's --runtime
	args     []string // the agent's other flags
	agent    *agentProc
}

// newE2E starts a server, creates instance "gw" and starts an agent for it
// with the given runtime and flags. Cleanup stops the agent, kills every
// driver left under its directory, then the server.
func newE2E(t *testing.T, runtime string, agentArgs ...string) *e2e {
	t.Helper()
	e := &e2e{t: t, data: t.TempDir(), inst: "gw", agentDir: t.TempDir(), runtime: runtime, args: agentArgs}
	prepareDriverUsers(t, e.agentDir)
	e.srv = startServer(t, e.data)
	var inst struct {
		Secret string `json:"gateway_secret"`
	}
	e.api("POST", "/api/v1/instances", map[string]any{"name": e.inst}, 201, &inst)
	if !strings.HasPrefix(inst.Secret, "dhg_") {
		t.Fatalf("instance answered gateway_secret %q", inst.Secret)
	}
	e.secret = inst.Secret
	t.Cleanup(func() {
		if e.agent != nil {
			e.agent.stop(t)
		}
		for _, pid := range procsUnder(e.agentDir + "/") {
			t.Errorf("process %d (%s) still runs under the agent's directory after the agent stopped: killed", pid, cmdline(pid))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			if e.agent != nil {
				t.Logf("agent output (tail):\n%s", lastLines(e.agent.out.String(), 60))
			}
			logs, _ := filepath.Glob(filepath.Join(e.agentDir, "logs", "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("driver log %s (tail):\n%s", filepath.Base(l), lastLines(string(b), 15))
			}
			e.srv.kill() // the log buffer is safe to read once the server is gone
			t.Logf("server output (tail):\n%s", lastLines(e.srv.logs.String(), 30))
		}
	})
	e.agent = e.startAgent()
	return e
}

// agentProc is a driverhub agent child process.
type agentProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when it has exited
}

// startAgent runs `driverhub agent` with short health and poll periods. Its
// environment carries a canary that must never reach a driver.
func (e *e2e) startAgent() *agentProc {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"agent", "--server", e.srv.url, "--dir", e.agentDir, "--runtime", e.runtime,
		"--healthy-after", "2s", "--poll-wait", "5s", "--log-level", "debug"}, e.args...)...)
	cmd.Env = append(os.Environ(), "DRIVERHUB_GATEWAY_SECRET="+e.secret, "DRIVERHUB_E2E_CANARY=agent-env-leaked",
		"PATH="+driverPath())
	a := &agentProc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(a.done) }()
	return a
}

func (a *agentProc) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the exit.
func (a *agentProc) kill(t testing.TB) {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Errorf("agent pid %d did not exit within 10 s of SIGKILL", a.cmd.Process.Pid)
	}
}

// stop asks the agent to end (it stops its drivers), and kills it after 20 s.
func (a *agentProc) stop(t testing.TB) {
	if a.exited() {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		t.Errorf("agent did not stop within 20 s of SIGTERM: killed")
		a.kill(t)
	}
}

// driverPath is the PATH of the agent, which its drivers inherit: this
// one's, with the real python3's directory first: the system's when there
// is one, which drivers running as their own users can run (a version
// manager's, under root's home, they cannot). A version manager's shim
// (pyenv's takes about 2 s to start python) would make a driver that exits
// at once look up for the whole health period.
var driverPath = sync.OnceValue(func() string {
	path := os.Getenv("PATH")
	python := "python3"
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		python = "/usr/bin/python3"
	}
	out, err := exec.Command(python, "-c", "import os, sys; print(os.path.dirname(os.path.realpath(sys.executable)))").Output()
	dir := strings.TrimSpace(string(out))
	if _, statErr := os.Stat(filepath.Join(dir, "python3")); err == nil && statErr == nil {
		path = dir + string(os.PathListSeparator) + path
	}
	return path
})

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// restartServer starts a server again on the same data directory and address.
func (e *e2e) restartServer() {
	e.t.Helper()
	addr := strings.TrimPrefix(e.srv.url, "http://")
	cmd := exec.Command(binary, "server", "--addr", addr, "--data", e.data)
	cmd.Env = append(os.Environ(), "DRIVERHUB_ADMIN_TOKEN="+adminToken, "DRIVERHUB_ADMIN_PASSWORD=crash-test-password")
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, logs: logs}
	e.t.Cleanup(s.kill)
	e.srv = s
	eventually(e.t, 20*time.Second, "the restarted server is ready", func() (bool, string) {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// eventually polls cond every 200 ms until it holds, failing the test with
// cond's last word after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s: not yet (last: %s)", d, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// api sends a JSON request with the admin token, fails unless the status is
// want, and decodes the answer into out (when not nil).
func (e *e2e) api(method, path string, body any, want int, out any) {
	e.t.Helper()
	var s string
	switch b := body.(type) {
	case nil:
	case []byte:
		s = string(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		s = string(j)
	}
	answer := e.srv.must(e.t, want, method, path, s)
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, answer)
		}
	}
}

func (e *e2e) bindingPath(driver string) string {
	return "/api/v1/instances/" + e.inst + "/drivers/" + driver
}

// driverName makes a driver name unique to this test process. Drivers'
// cgroups (process) and containers (runc) are named after the driver on
// the host, so two test runs at once must not share names.
func driverName(base string) string {
	return fmt.Sprintf("%s%03d", base, os.Getpid()%1000)
}

// cpuArch is this machine's architecture as c drivers name it.
var cpuArch = map[string]string{"amd64": "x86-64", "arm64": "aarch64", "386": "x86", "arm": "armv7-hf"}[goruntime.GOARCH]

// createDriver creates a driver of the runtime.
func (e *e2e) createDriver(name, runtime string) {
	e.t.Helper()
	body := map[string]any{"name": name, "protocol": "custom", "runtime": runtime}
	if runtime == "c" {
		body["cpu_arch"] = cpuArch
	}
	e.api("POST", "/api/v1/drivers", body, 201, nil)
}

// addVersion creates a version with the extra fields, uploads its package,
// publishes it, and returns its package's SHA-256.
func (e *e2e) addVersion(driver, version string, pkg []byte, extra map[string]any) string {
	e.t.Helper()
	body := map[string]any{"version": version, "min_edge_version": "1.0.0"}
	for k, v := range extra {
		body[k] = v
	}
	vp := "/api/v1/drivers/" + driver + "/versions/" + version
	e.api("POST", "/api/v1/drivers/"+driver+"/versions", body, 201, nil)
	e.api("PUT", vp+"/package", pkg, 200, nil)
	var v struct {
		Package struct {
			SHA256 string `json:"sha256"`
		} `json:"package"`
	}
	e.api("POST", vp+"/publish", nil, 200, &v)
	if len(v.Package.SHA256) != 64 {
		e.api("GET", vp, nil, 200, &v)
	}
	return v.Package.SHA256
}

// bind binds a driver at a version.
func (e *e2e) bind(driver, version string) {
	e.t.Helper()
	e.api("PUT", e.bindingPath(driver), map[string]any{"version": version}, 200, nil)
}

// addDevice creates a device and associates it with a bound driver.
func (e *e2e) addDevice(product, name, driver string, config any) {
	e.t.Helper()
	e.api("POST", "/api/v1/devices", map[string]any{"product": product, "name": name}, 201, nil)
	body := map[string]any{"driver": driver}
	if config != nil {
		body["config"] = config
	}
	e.api("PUT", "/api/v1/instances/"+e.inst+"/devices/"+product+"/"+name, body, 200, nil)
}

// deployment is a deployment's view.
type deployment struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Resources []struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Stage  string `json:"stage"`
		Status string `json:"status"`
		Log    []struct {
			Level   string `json:"level"`
			Stage   string `json:"stage"`
			Message string `json:"message"`
		} `json:"log"`
	} `json:"resources"`
}

// deploy creates a deployment of the type ("deploy" or "reset") and waits
// until it has finished.
func (e *e2e) deploy(typ string) deployment {
	e.t.Helper()
	var d deployment
	e.api("POST", "/api/v1/instances/"+e.inst+"/deployments", map[string]any{"type": typ}, 201, &d)
	eventually(e.t, deployWait, "deployment "+d.ID+" finishes", func() (bool, string) {
		e.api("GET", "/api/v1/instances/"+e.inst+"/deployments/"+d.ID, nil, 200, &d)
		switch d.Status {
		case "pending", "processing":
			return false, d.Status
		}
		return true, ""
	})
	return d
}

// waitCapabilities waits until the gateway has said what it can enforce:
// the server refuses settings that need isolation before it knows.
func (e *e2e) waitCapabilities() {
	e.t.Helper()
	var inst struct {
		Gateway struct {
			Capabilities *struct {
				Isolation bool `json:"isolation"`
			} `json:"capabilities"`
		} `json:"gateway"`
	}
	eventually(e.t, reportWait, "the gateway reports its capabilities", func() (bool, string) {
		e.api("GET", "/api/v1/instances/"+e.inst, nil, 200, &inst)
		return inst.Gateway.Capabilities != nil, "none reported yet"
	})
}

// mustSucceed fails the test unless the deployment succeeded.
func mustSucceed(t testing.TB, d deployment) {
	t.Helper()
	if d.Status != "succeeded" {
		j, _ := json.MarshalIndent(d, "", "  ")
		t.Fatalf("deployment %s is %s, want succeeded:\n%s", d.ID, d.Status, j)
	}
}

// runtimeView is a binding's runtime: the gateway's last report of it.
type runtimeView struct {
	State       string `json:"state"`
	Version     string `json:"version"`
	Restarts    int    `json:"restarts"`
	LastExit    string `json:"last_exit"`
	MemoryBytes int64  `json:"memory_bytes"`
}

// waitRuntime waits until the binding's runtime satisfies cond.
func (e *e2e) waitRuntime(driver, what string, cond func(runtimeView) bool) runtimeView {
	e.t.Helper()
	var b struct {
		Runtime *runtimeView `json:"runtime"`
	}
	eventually(e.t, reportWait, driver+"'s runtime: "+what, func() (bool, string) {
		e.api("GET", e.bindingPath(driver), nil, 200, &b)
		if b.Runtime == nil {
			return false, "no runtime reported"
		}
		return cond(*b.Runtime), fmt.Sprintf("%+v", *b.Runtime)
	})
	return *b.Runtime
}

// manifestDriver fetches the gateway's manifest with the gateway secret and
// returns one driver's id and runtime_config.
func (e *e2e) manifestDriver(name string) (id string, runtimeConfig json.RawMessage) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.url+"/api/v1/gateway/desired", nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Drivers []struct {
			ID            string          `json:"id"`
			Name          string          `json:"name"`
			RuntimeConfig json.RawMessage `json:"runtime_config"`
		} `json:"drivers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatalf("GET desired: %s: %v", resp.Status, err)
	}
	for _, d := range m.Drivers {
		if d.Name == name {
			return d.ID, d.RuntimeConfig
		}
	}
	e.t.Fatalf("the manifest has no driver %s", name)
	return "", nil
}

// report is what a sample driver wrote: key → value.
type report map[string]string

// reportPath is where a sample driver run by the process runtime writes its
// report: report.txt in its working directory's parent.
func (e *e2e) reportPath(driver string) string {
	return filepath.Join(e.agentDir, "drivers", driver, "report.txt")
}

func readReport(path string) (report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := report{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		val, err := hex.DecodeString(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		r[k] = string(val)
	}
	return r, nil
}

// waitReport waits until the report at path satisfies cond.
func waitReport(t testing.TB, path, what string, cond func(report) bool) report {
	t.Helper()
	var r report
	eventually(t, reportWait, "driver report "+path+": "+what, func() (bool, string) {
		var err error
		if r, err = readReport(path); err != nil {
			return false, err.Error()
		}
		return cond(r), fmt.Sprintf("version %q pid %q", r["version"], r["pid"])
	})
	return r
}

func (r report) pid(t testing.TB) int {
	t.Helper()
	pid, err := strconv.Atoi(r["pid"])
	if err != nil || pid <= 0 {
		t.Fatalf("report has pid %q", r["pid"])
	}
	return pid
}

// procsUnder lists the live processes whose working directory or command
// line is under prefix (a directory path ending in "/"). Zombies have
// neither, so they do not count.
func procsUnder(prefix string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if strings.HasPrefix(cwd+"/", prefix) || strings.Contains(cmdline(pid), prefix) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// driverProcs lists the processes of one driver: those under
// DIR/drivers/<name>/ whose parent is not (a launcher's forked helpers,
// such as a shell's subshells, belong to the process that forked them).
func (e *e2e) driverProcs(driver string) []int {
	all := procsUnder(filepath.Join(e.agentDir, "drivers", driver) + "/")
	var roots []int
	for _, pid := range all {
		if !slices.Contains(all, ppid(pid)) {
			roots = append(roots, pid)
		}
	}
	return roots
}

// ppid is pid's parent, 0 when unknown.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// pidAlive reports whether pid runs and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// requireTools stops the test (testenv.Require) unless every tool is on PATH.
func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testenv.Command(t, tool)
	}
}

// zipEntry is one file of a package.
type zipEntry struct {
	name string
	data []byte
	exec bool
}

func zipOf(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, en := range entries {
		h := &zip.FileHeader{Name: en.name, Method: zip.Deflate}
		h.SetMode(0o644)
		if en.exec {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(en.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleSource reads a sample driver's file from testdata with @VERSION@ set.
func sampleSource(t testing.TB, kind, file, version string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "drivers", kind, file))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("@VERSION@"), []byte(version))
}

// samplePackage builds the package of a sample driver: kind is a runtime
// (python3, nodejs, c, java) or a python3 variant (exit3, memhog).
func samplePackage(t testing.TB, kind, version string) []byte {
	t.Helper()
	switch kind {
	case "python3", "exit3", "memhog":
		return zipOf(t, zipEntry{name: "index.py", data: sampleSource(t, kind, "index.py", version)})
	case "nodejs":
		return zipOf(t, zipEntry{name: "index.js", data: sampleSource(t, kind, "index.js", version)})
	case "c":
		requireTools(t, "gcc")
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "main.c"), sampleSource(t, "c", "main.c", version))
		writeFile(t, filepath.Join(dir, "greet.c"), sampleSource(t, "c", "greet.c", version))
		runTool(t, dir, "mkdir", "lib")
		runTool(t, dir, "gcc", "-shared", "-fPIC", "-o", "lib/libgreet.so", "greet.c")
		runTool(t, dir, "gcc", "-o", "main", "main.c", "-Llib", "-lgreet") // no rpath: LD_LIBRARY_PATH=lib finds it
		return zipOf(t, zipEntry{name: "main", data: readFile(t, filepath.Join(dir, "main")), exec: true},
			zipEntry{name: "lib/libgreet.so", data: readFile(t, filepath.Join(dir, "lib", "libgreet.so"))})
	case "java":
		requireTools(t, "javac", "jar", "java")
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "Main.java"), sampleSource(t, "java", "Main.java", version))
		writeFile(t, filepath.Join(dir, "manifest.txt"), []byte("Main-Class: Main\n"))
		runTool(t, dir, "javac", "-d", "classes", "Main.java")
		runTool(t, dir, "jar", "--create", "--file", "main.jar", "--manifest", "manifest.txt", "-C", "classes", ".")
		return zipOf(t, zipEntry{name: "main.jar", data: readFile(t, filepath.Join(dir, "main.jar"))})
	}
	t.Fatalf("no sample driver %q", kind)
	return nil
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runTool(t testing.TB, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
