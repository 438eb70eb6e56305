//go:build linux

package main_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness of the edge agent's benchmarks (agent_bench_test.go,
// tuf_bench_test.go): the agent-only binary, a server and an agent, and
// readers of what they did and of /proc.

// abBuild builds the agent-only binary once per test process.
var abBuild struct {
	once sync.Once
	path string
	err  error
}

// abAgentBinary builds ./cmd/driverhub-agent from the module root (two
// levels above this package's directory) next to the driverhub binary, as
// it ships (docs/agent-install.md, .ci/run): static, trimmed and stripped.
// Nearly all of the binary's pages end up resident: its size counts.
func abAgentBinary(b *testing.B) string {
	b.Helper()
	abBuild.once.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			abBuild.err = err
			return
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			abBuild.err = fmt.Errorf("module root %s: %w", root, err)
			return
		}
		abBuild.path = filepath.Join(filepath.Dir(binary), "driverhub-agent")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", abBuild.path, "./cmd/driverhub-agent")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			abBuild.err = fmt.Errorf("go build ./cmd/driverhub-agent: %v\n%s", err, out)
		}
	})
	if abBuild.err != nil {
		b.Fatal(abBuild.err)
	}
	return abBuild.path
}

// abEnv is one benchmark setup: a server, instance "gw", and an agent.
type abEnv struct {
	b        *testing.B
	srv      *server
	inst     string
	secret   string
	agentDir string
	agentArg []string // more flags of the agent
	python   string   // the interpreter drivers run
	agent    *exec.Cmd
	agentOut *syncBuffer
	done     chan struct{}
}

func abSetup(b *testing.B) *abEnv {
	b.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 is not installed")
	}
	e := &abEnv{b: b, inst: "gw", agentDir: b.TempDir()}
	prepareDriverUsers(b, e.agentDir)
	e.srv = startServer(b, b.TempDir())
	var inst struct {
		Secret string `json:"gateway_secret"`
	}
	abJSON(b, e.srv.must(b, 201, "POST", "/api/v1/instances", `{"name":"gw"}`), &inst)
	e.secret = inst.Secret
	return e
}

// addDriver creates a python3 driver with version 1.0 of pkg, published,
// and binds it; config, when given, sets the binding's config first.
func (e *abEnv) addDriver(name string, pkg []byte, config func(seq int)) {
	b := e.b
	b.Helper()
	e.srv.must(b, 201, "POST", "/api/v1/drivers", `{"name":"`+name+`","protocol":"custom","runtime":"python3"}`)
	vp := "/api/v1/drivers/" + name + "/versions"
	e.srv.must(b, 201, "POST", vp, `{"version":"1.0","min_edge_version":"1.0.0"}`)
	e.srv.must(b, 200, "PUT", vp+"/1.0/package", string(pkg))
	e.srv.must(b, 200, "POST", vp+"/1.0/publish", "")
	e.srv.must(b, 200, "PUT", "/api/v1/instances/"+e.inst+"/drivers/"+name, `{"version":"1.0"}`)
	if config != nil {
		config(0)
	}
}

// startAgent runs the agent-only binary with the process runtime. python3
// is resolved to the real interpreter first on the agent's PATH: a version
// manager's shim (pyenv's is a bash script) would add its own start-up to
// every driver start, which no gateway has.
func (e *abEnv) startAgent(bin, pollWait string) {
	b := e.b
	b.Helper()
	env := os.Environ()
	env = append(env, "PATH="+driverPath()) // one the drivers' own users can run
	env = append(env, "DRIVERHUB_GATEWAY_SECRET="+e.secret)
	if extra := os.Getenv("DRIVERHUB_BENCH_AGENT_ENV"); extra != "" {
		for _, kv := range strings.Split(extra, ",") {
			env = append(env, strings.TrimSpace(kv))
		}
		b.Logf("agent environment adds %s", extra)
	}
	e.python = abLookPath(env, "python3")
	cmd := exec.Command(bin, append([]string{"--server", e.srv.url, "--dir", e.agentDir, "--healthy-after", "1s",
		"--poll-wait", pollWait, "--runtime", "process"}, e.agentArg...)...)
	cmd.Env = env
	e.agentOut = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = e.agentOut, e.agentOut
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	e.agent, e.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(e.done) }()
	b.Cleanup(e.stopAgent)
}

// stopAgent asks the agent to stop its drivers and end, kills it after
// 20 s, then kills any driver process left under its directory.
func (e *abEnv) stopAgent() {
	b := e.b
	_ = e.agent.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(20 * time.Second):
		b.Errorf("agent pid %d did not stop within 20 s of SIGTERM: killed", e.agent.Process.Pid)
		_ = e.agent.Process.Signal(syscall.SIGKILL)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			b.Errorf("agent pid %d did not exit after SIGKILL", e.agent.Process.Pid)
		}
	}
	for _, pid := range procsUnder(e.agentDir + "/") {
		b.Errorf("process %d still runs under the agent's directory after the agent stopped: killed", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if b.Failed() {
		b.Logf("agent output (tail):\n%s", abTail(e.agentOut.String(), 40))
	}
}

type abDeployment struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (e *abEnv) createDeployment() string {
	var d abDeployment
	abJSON(e.b, e.srv.must(e.b, 201, "POST", "/api/v1/instances/"+e.inst+"/deployments", `{"type":"deploy"}`), &d)
	return d.ID
}

// waitDeployment waits until the deployment has finished.
func (e *abEnv) waitDeployment(id string, limit time.Duration) abDeployment {
	e.b.Helper()
	var d abDeployment
	abEventually(e.b, limit, "deployment "+id+" finishes", func() (bool, string) {
		abJSON(e.b, e.srv.must(e.b, 200, "GET", "/api/v1/instances/"+e.inst+"/deployments/"+id, ""), &d)
		return d.Status != "pending" && d.Status != "processing", d.Status
	})
	return d
}

func (e *abEnv) deploy(limit time.Duration) abDeployment {
	e.b.Helper()
	return e.waitDeployment(e.createDeployment(), limit)
}

type abRuntime struct {
	State    string `json:"state"`
	Version  string `json:"version"`
	LastExit string `json:"last_exit"`
}

// runtime is the binding's runtime as the gateway last reported it.
func (e *abEnv) runtime(driver string) abRuntime {
	var v struct {
		Runtime *abRuntime `json:"runtime"`
	}
	abJSON(e.b, e.srv.must(e.b, 200, "GET", "/api/v1/instances/"+e.inst+"/drivers/"+driver, ""), &v)
	if v.Runtime == nil {
		return abRuntime{}
	}
	return *v.Runtime
}

func (e *abEnv) waitRunning(driver, version string, limit time.Duration) {
	e.b.Helper()
	abEventually(e.b, limit, driver+" reported running "+version, func() (bool, string) {
		r := e.runtime(driver)
		return r.State == "running" && r.Version == version, fmt.Sprintf("%+v", r)
	})
}

// logLines counts the driver's output lines the server holds.
func (e *abEnv) logLines(driver string) int {
	var v struct {
		Lines []json.RawMessage `json:"lines"`
	}
	abJSON(e.b, e.srv.must(e.b, 200, "GET", "/api/v1/instances/"+e.inst+"/drivers/"+driver+"/logs?tail=1000", ""), &v)
	return len(v.Lines)
}

// agentApplied finds when the agent logged it was applying the deployment.
func (e *abEnv) agentApplied(id string) (time.Time, bool) {
	sc := bufio.NewScanner(strings.NewReader(e.agentOut.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `msg="applying deployment"`) && strings.Contains(line, "deployment="+id) {
			ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
			t, err := time.Parse(time.RFC3339Nano, ts)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

// spawnedAfter finds the first "starting" note of the agent in the
// driver's log file after t: the moment its supervisor starts it.
func (e *abEnv) spawnedAfter(driver string, after time.Time) (time.Time, bool) {
	data, err := os.ReadFile(filepath.Join(e.agentDir, "logs", driver+".log"))
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 || f[1] != "agent" || f[2] != "starting" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, f[0]); err == nil && t.After(after) {
			return t, true
		}
	}
	return time.Time{}, false
}

// abMem is a process's memory as /proc/<pid>/status has it, in bytes.
type abMem struct {
	rss, hwm, anon, file, shmem int64
	threads                     int
}

func abReadMem(b *testing.B, pid int) abMem {
	b.Helper()
	m, err := abReadStatus(pid)
	if err != nil {
		b.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	return m
}

func abReadMemQuiet(pid int) abMem {
	m, _ := abReadStatus(pid)
	return m
}

func abReadStatus(pid int) (abMem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return abMem{}, err
	}
	var m abMem
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.hwm = n << 10
		case "RssAnon":
			m.anon = n << 10
		case "RssFile":
			m.file = n << 10
		case "RssShmem":
			m.shmem = n << 10
		case "Threads":
			m.threads = int(n)
		}
	}
	if m.rss == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return m, nil
}

func abZip(b *testing.B, name, content string) []byte {
	b.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// abLookPath finds file on the last PATH of env, as the agent's drivers will.
func abLookPath(env []string, file string) string {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, file)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return file + " (not found)"
}

func abJSON(b *testing.B, data []byte, v any) {
	b.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		b.Fatalf("decode %s: %v", data, err)
	}
}

// abEventually polls cond every 100 ms until it holds, failing after limit.
func abEventually(b *testing.B, limit time.Duration, what string, cond func() (bool, string)) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s: %s: not yet (last: %s)", limit, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func abTail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
