package process_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/process"
	"github.com/driverhub/driverhub/internal/testenv"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newSpec is a spec named after the test, with fresh Dir and StateDir.
func newSpec(t *testing.T, command ...string) driverrt.Spec {
	t.Helper()
	return driverrt.Spec{
		Name:     "t" + strconv.Itoa(os.Getpid()) + "-" + strings.ReplaceAll(t.Name(), "/", "_"),
		Dir:      t.TempDir(),
		Command:  command,
		StateDir: t.TempDir(),
		// What a version has by default: the host's network.
		Container: driverhub.DefaultContainer(),
	}
}

// start starts spec and makes sure the driver is gone when the test ends.
func start(t *testing.T, rt *process.Runtime, spec driverrt.Spec, stdout, stderr io.Writer) driverrt.Process {
	t.Helper()
	p, err := rt.Start(spec, stdout, stderr)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop(0) })
	return p
}

// wait is p.Wait, failing the test after timeout.
func wait(t *testing.T, p driverrt.Process, timeout time.Duration) driverrt.Exit {
	t.Helper()
	ch := make(chan driverrt.Exit, 1)
	go func() { ch <- p.Wait() }()
	select {
	case e := <-ch:
		return e
	case <-time.After(timeout):
		_ = p.Stop(0)
		t.Fatalf("driver still running after %v", timeout)
		return driverrt.Exit{}
	}
}

// waitFile waits for a file written by the driver and returns its content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && bytes.HasSuffix(data, []byte("\n")) {
			return string(data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not written", path)
	return ""
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// gone reports whether pid has exited (zombies waiting for init count as gone).
func gone(pid int) bool {
	state, _, _, err := process.ProcStat(pid)
	return err != nil || state == 'Z' || state == 'X'
}

// groupAlive lists live processes of process group pgid.
func groupAlive(pgid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, pgrp, _, err := process.ProcStat(pid); err == nil && pgrp == pgid && state != 'Z' && state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestEnvironmentAndDir checks that a driver gets exactly its spec's
// environment: nothing of the agent's own, whose secret above all.
func TestEnvironmentAndDir(t *testing.T) {
	t.Setenv("DRIVERHUB_GATEWAY_SECRET", "must not leak")
	t.Setenv("LANG", "C.UTF-8")
	const script = "pwd -P > pwd.txt; exec env > env.txt\n"
	for _, tc := range []struct {
		name    string
		command []string
		main    bool // write script as Dir/main
	}{
		{"argv0 from PATH", []string{"sh", "-c", script}, false},
		{"absolute argv0", []string{"/bin/sh", "-c", script}, false},
		{"argv0 relative to Dir", []string{"./main"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := process.New(process.Options{Logger: quiet()})
			spec := newSpec(t, tc.command...)
			spec.Env = []string{"FOO=bar", "EMPTY=", "HOME=/driver/home", "PATH=/usr/bin:/bin", "FOO=baz"}
			if tc.main {
				if err := os.WriteFile(filepath.Join(spec.Dir, "main"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if e := wait(t, start(t, rt, spec, io.Discard, io.Discard), 20*time.Second); e != (driverrt.Exit{}) {
				t.Fatalf("exit = %v, want status 0", e)
			}

			dir, _ := filepath.EvalSymlinks(spec.Dir)
			if got := strings.TrimSpace(waitFile(t, filepath.Join(spec.Dir, "pwd.txt"))); got != dir {
				t.Errorf("working directory = %q, want %q", got, dir)
			}
			env := map[string]string{}
			for line := range strings.Lines(waitFile(t, filepath.Join(spec.Dir, "env.txt"))) {
				k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
				env[k] = v
			}
			want := []string{"EMPTY", "FOO", "HOME", "PATH", "PWD"} // PWD is set by sh
			keys := make([]string, 0, len(env))
			for k := range env {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(want, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("environment keys (-want +got):\n%s", diff)
			}
			if env["FOO"] != "baz" || env["HOME"] != "/driver/home" || env["PATH"] != "/usr/bin:/bin" {
				t.Errorf("FOO=%q HOME=%q PATH=%q, want the spec's (the later FOO)", env["FOO"], env["HOME"], env["PATH"])
			}
		})
	}
}

func TestOutput(t *testing.T) {
	t.Parallel()
	rt := process.New(process.Options{Logger: quiet()})
	var stdout, stderr bytes.Buffer
	p := start(t, rt, newSpec(t, "sh", "-c", "echo out; echo err >&2; printf partial"), &stdout, &stderr)
	wait(t, p, 20*time.Second)
	if got, want := stdout.String(), "out\npartial"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "err\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestExit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		want   driverrt.Exit
	}{
		{"exit 0", driverrt.Exit{}},
		{"exit 3", driverrt.Exit{Code: 3}},
		{"kill -USR1 $$", driverrt.Exit{Code: -1, Signal: "SIGUSR1"}},
		{"kill -KILL $$", driverrt.Exit{Code: -1, Signal: "SIGKILL"}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			rt := process.New(process.Options{Logger: quiet()})
			got := wait(t, start(t, rt, newSpec(t, "/bin/sh", "-c", tc.script), nil, nil), 20*time.Second)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("exit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	rt := process.New(process.Options{Logger: quiet()})
	for _, command := range [][]string{{"no-such-driver-binary"}, {"./main"}, {}} {
		if p, err := rt.Start(newSpec(t, command...), nil, nil); err == nil {
			_ = p.Stop(0)
			t.Errorf("Start(%q) succeeded", command)
		}
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	const grace = 500 * time.Millisecond
	for _, tc := range []struct {
		name       string
		trap       string
		wantSignal string
	}{
		{"ends on SIGTERM", "", "SIGTERM"},
		{"ignores SIGTERM", "trap '' TERM; ", "SIGKILL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := process.New(process.Options{Logger: quiet()})
			// The driver's child is a subshell whose child sleeps.
			spec := newSpec(t, "/bin/sh", "-c",
				tc.trap+"(sleep 300 & echo $! > grandchild.pid; wait) & echo $! > child.pid; wait")
			p := start(t, rt, spec, nil, nil)
			child := readPid(t, filepath.Join(spec.Dir, "child.pid"))
			grandchild := readPid(t, filepath.Join(spec.Dir, "grandchild.pid"))

			began := time.Now()
			if err := p.Stop(grace); err != nil {
				t.Errorf("Stop: %v", err)
			}
			took := time.Since(began)
			e := wait(t, p, 10*time.Second)
			if e.Signal != tc.wantSignal || e.OOM {
				t.Errorf("exit = %+v, want killed by %s", e, tc.wantSignal)
			}
			if tc.wantSignal == "SIGKILL" && took < grace {
				t.Errorf("killed after %v, before the grace of %v", took, grace)
			}
			if tc.wantSignal == "SIGTERM" && took >= grace {
				t.Errorf("Stop took %v, want less than the grace %v", took, grace)
			}
			for _, pid := range []int{p.Pid(), child, grandchild} {
				if !gone(pid) {
					t.Errorf("pid %d still running", pid)
				}
			}
			if left := groupAlive(p.Pid()); len(left) > 0 {
				t.Errorf("process group %d still has %v", p.Pid(), left)
			}
		})
	}
}

// memoryCases are the two ways of enforcing memory limits.
var memoryCases = []struct {
	name string
	opts process.Options
}{
	{"cgroup", process.Options{SampleEvery: 100 * time.Millisecond}},
	{"sampling", process.Options{DisableCgroups: true, SampleEvery: 100 * time.Millisecond}},
}

// newMemoryRuntime is the runtime of a memory case; the cgroup case is
// skipped where no cgroup is writable.
func newMemoryRuntime(t *testing.T, name string, opts process.Options) *process.Runtime {
	t.Helper()
	opts.Logger = quiet()
	rt := process.New(opts)
	if err := rt.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	enf := rt.Enforcement()
	t.Logf("memory enforcement: %s", enf)
	switch {
	case name == "cgroup" && enf == "sampling":
		testenv.Require(t, "no writable cgroup with the memory controller on this machine")
	case name == "sampling" && enf != "sampling":
		t.Fatalf("enforcement = %s with DisableCgroups", enf)
	}
	return rt
}

const memoryHog = `
import time
chunks = []
while len(chunks) < 25:
    chunks.append(b"\x01" * (8 << 20))  # 200 MiB, every page touched
    time.sleep(0.01)
while True:
    time.sleep(1)
`

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range memoryCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := newMemoryRuntime(t, tc.name, tc.opts)
			spec := newSpec(t, "python3", "-c", memoryHog)
			spec.Container.MemoryLimitMB = 64
			var stderr bytes.Buffer
			p := start(t, rt, spec, nil, &stderr)
			cg := process.CgroupDir(p)
			t.Logf("cgroup: %q", cg)
			if (cg != "") != (tc.name == "cgroup") {
				t.Errorf("cgroup = %q", cg)
			}
			e := wait(t, p, 60*time.Second)
			if !e.OOM || e.Signal != "SIGKILL" {
				t.Errorf("exit = %+v (%v), want an OOM kill; stderr: %s", e, e, stderr.String())
			}
			if cg != "" {
				if _, err := os.Stat(cg); !os.IsNotExist(err) {
					t.Errorf("cgroup %s not removed: %v", cg, err)
				}
			}
			if _, err := os.Stat(filepath.Join(spec.StateDir, "process.json")); !os.IsNotExist(err) {
				t.Errorf("process.json not removed: %v", err)
			}
		})
	}
}

func TestMemoryBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range memoryCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := newMemoryRuntime(t, tc.name, tc.opts)
			spec := newSpec(t, "python3", "-c",
				"import time\nx = b'1' * (20 << 20)\nopen('ready', 'w').write('1\\n')\ntime.sleep(300)\n")
			spec.Container.MemoryLimitMB = 256
			p := start(t, rt, spec, nil, nil)
			waitFile(t, filepath.Join(spec.Dir, "ready"))
			if got := p.MemoryBytes(); got < 16<<20 {
				t.Errorf("MemoryBytes = %d, want at least 16 MiB", got)
			}
			if err := p.Stop(time.Second); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if e := wait(t, p, 10*time.Second); e.OOM || e.Signal != "SIGTERM" {
				t.Errorf("exit = %+v, want SIGTERM", e)
			}
			if got := p.MemoryBytes(); got != 0 {
				t.Errorf("MemoryBytes after exit = %d", got)
			}
		})
	}
}

func TestCleanupAfterAgentCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts process.Options
		trap string
	}{
		{"cgroup", process.Options{}, ""},
		{"sampling", process.Options{DisableCgroups: true}, ""},
		{"ignores SIGTERM", process.Options{}, "trap '' TERM; "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Logger = quiet()
			spec := newSpec(t, "/bin/sh", "-c", tc.trap+"sleep 300 & echo $! > child.pid; wait")
			// The "previous agent" starts the driver and forgets it.
			old := start(t, process.New(tc.opts), spec, nil, nil)
			child := readPid(t, filepath.Join(spec.Dir, "child.pid"))
			cg := process.CgroupDir(old)

			rt := process.New(tc.opts)
			if err := rt.Cleanup(spec.Name, spec.StateDir); err != nil {
				t.Fatalf("Cleanup: %v", err)
			}
			for _, pid := range []int{old.Pid(), child} {
				if !gone(pid) {
					t.Errorf("pid %d still running after Cleanup", pid)
				}
			}
			if left := groupAlive(old.Pid()); len(left) > 0 {
				t.Errorf("process group %d still has %v", old.Pid(), left)
			}
			if _, err := os.Stat(filepath.Join(spec.StateDir, "process.json")); !os.IsNotExist(err) {
				t.Errorf("process.json not removed: %v", err)
			}
			wait(t, old, 10*time.Second)
			if cg != "" {
				if _, err := os.Stat(cg); !os.IsNotExist(err) {
					t.Errorf("cgroup %s not removed: %v", cg, err)
				}
			}
			// Nothing left: Cleanup again is a no-op.
			if err := rt.Cleanup(spec.Name, spec.StateDir); err != nil {
				t.Errorf("second Cleanup: %v", err)
			}
		})
	}
}

func TestCleanupSparesReusedPid(t *testing.T) {
	t.Parallel()
	rt := process.New(process.Options{Logger: quiet()})
	stateDir := t.TempDir()
	if err := rt.Cleanup("absent", stateDir); err != nil {
		t.Errorf("Cleanup without a record: %v", err)
	}

	// An unrelated process whose pid the record names, with another start time.
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	_, _, startTime, err := process.ProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	rec := fmt.Sprintf(`{"pid": %d, "pgid": %d, "start_time": %d}`, pid, pid, startTime+100)
	path := filepath.Join(stateDir, "process.json")
	if err := os.WriteFile(path, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rt.Cleanup("unrelated", stateDir); err != nil {
		t.Errorf("Cleanup: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if gone(pid) {
		t.Errorf("Cleanup killed pid %d whose start time differs", pid)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("process.json not removed: %v", err)
	}
}

func TestRecord(t *testing.T) {
	t.Parallel()
	rt := process.New(process.Options{Logger: quiet()})
	spec := newSpec(t, "sleep", "300")
	p := start(t, rt, spec, nil, nil)
	data, err := os.ReadFile(filepath.Join(spec.StateDir, "process.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Pid       int    `json:"pid"`
		Pgid      int    `json:"pgid"`
		StartTime uint64 `json:"start_time"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	_, pgrp, startTime, err := process.ProcStat(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	want := []int{p.Pid(), p.Pid(), int(startTime)}
	if got := []int{rec.Pid, rec.Pgid, int(rec.StartTime)}; !slices.Equal(got, want) || pgrp != p.Pid() {
		t.Errorf("record = %s, want pid, pgid %v, pgrp %d", data, want, pgrp)
	}
	_ = p.Stop(0)
}
