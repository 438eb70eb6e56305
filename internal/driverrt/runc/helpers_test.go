package runc_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/runc"
	"github.com/driverhub/driverhub/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv("DH_RUNC_FAKE_AGENT") != "" {
		os.Exit(fakeAgent())
	}
	os.Exit(m.Run())
}

// fakeAgent is a "previous agent": it starts a container and then waits to
// be killed, leaving the container running.
func fakeAgent() int {
	rt := runc.New(runc.Options{Root: os.Getenv("DH_RUNC_ROOT")})
	dir, state := os.Getenv("DH_RUNC_DIR"), os.Getenv("DH_RUNC_STATE")
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := rt.Start(driverrt.Spec{Name: os.Getenv("DH_RUNC_NAME"), Dir: dir, StateDir: state,
		Command: []string{"sh", "-c", "sleep 600"}, Container: driverhub.DefaultContainer()}, logf, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.Pid())
	time.Sleep(10 * time.Minute)
	return 0
}

// need stops the test unless runc and root are here (a failure under CI=true).
func need(t *testing.T) {
	t.Helper()
	testenv.Command(t, "runc")
	testenv.Root(t, "runc runs containers as root")
}

func needPython(t *testing.T) {
	t.Helper()
	need(t)
	testenv.Command(t, "python3")
}

// env is one test's runtime with its own runc root; every container it
// started is deleted when the test ends.
type env struct {
	t    *testing.T
	rt   *runc.Runtime
	root string
}

func newEnv(t *testing.T) *env {
	root := filepath.Join(t.TempDir(), "runc-root")
	e := &env{t: t, rt: runc.New(runc.Options{Root: root}), root: root}
	return e
}

// spec makes a driver directory holding files and a spec running cmd in it.
func (e *env) spec(name string, files map[string]string, cmd ...string) driverrt.Spec {
	e.t.Helper()
	dir := e.t.TempDir()
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
	state := e.t.TempDir()
	e.t.Cleanup(func() { e.runc("delete", "--force", "dh-"+driverrt.UnitName(name, state)) })
	return driverrt.Spec{Name: name, Dir: dir, StateDir: state, Command: cmd,
		Env: []string{"FUNCTION_NAME=" + name}, Container: driverhub.DefaultContainer()}
}

func (e *env) runc(args ...string) (string, error) {
	out, err := exec.Command("runc", append([]string{"--root", e.root}, args...)...).CombinedOutput()
	return string(out), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts the driver, stopping it when the test ends.
func (e *env) start(s driverrt.Spec) (driverrt.Process, *syncBuffer) {
	e.t.Helper()
	out := &syncBuffer{}
	p, err := e.rt.Start(s, out, out)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	e.t.Cleanup(func() {
		p.Stop(time.Second)
		waitExit(e.t, p, 30*time.Second)
	})
	return p, out
}

// waitExit waits for the driver to end, failing the test after timeout.
func waitExit(t *testing.T, p driverrt.Process, timeout time.Duration) driverrt.Exit {
	t.Helper()
	ch := make(chan driverrt.Exit, 1)
	go func() { ch <- p.Wait() }()
	select {
	case e := <-ch:
		return e
	case <-time.After(timeout):
		t.Fatalf("driver still running after %v", timeout)
		return driverrt.Exit{}
	}
}

// waitFile waits for a file the driver writes and returns its content.
func waitFile(t *testing.T, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && bytes.HasSuffix(b, []byte("\n")) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after %v", path, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(waitFile(t, path, 30*time.Second)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// startFakeAgent runs fakeAgent in a child process and returns the
// container's pid and the agent process.
func startFakeAgent(t *testing.T, root, name, dir, state string) (int, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DH_RUNC_FAKE_AGENT=1", "DH_RUNC_ROOT="+root,
		"DH_RUNC_NAME="+name, "DH_RUNC_DIR="+dir, "DH_RUNC_STATE="+state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		pid, err := strconv.Atoi(string(bytes.TrimSpace([]byte(s))))
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("fake agent: %q %s", s, stderr.String())
		}
		return pid, cmd
	case <-time.After(30 * time.Second):
		t.Fatal("fake agent did not start its driver")
		return 0, nil
	}
}
