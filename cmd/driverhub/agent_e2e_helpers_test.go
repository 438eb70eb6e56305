package main_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
