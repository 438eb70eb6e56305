package main_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// End-to-end tests of what the agent tells the server and keeps on disk
// (SPEC §12), and of the driver loader (SPEC §7).

// driverLogs is the driver output the server holds for a binding.
func (e *e2e) driverLogs(driver string) []string {
	e.t.Helper()
	var logs struct {
		Lines []struct {
			Text string `json:"text"`
		} `json:"lines"`
	}
	e.api("GET", e.bindingPath(driver)+"/logs?tail=200", nil, 200, &logs)
	var out []string
	for _, l := range logs.Lines {
		out = append(out, l.Text)
	}
	return out
}

// waitLogs waits until the server holds a line of the driver's output
// for each of want.
func (e *e2e) waitLogs(driver string, want ...string) {
	e.t.Helper()
	eventually(e.t, reportWait, driver+"'s output reaches the server", func() (bool, string) {
		got := e.driverLogs(driver)
		for _, w := range want {
			if !slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, w) }) {
				return false, fmt.Sprintf("no line holds %q in %q", w, got)
			}
		}
		return true, ""
	})
}

func indexPy(t *testing.T, source string) []byte {
	return zipOf(t, zipEntry{name: "index.py", data: []byte(source)})
}

// The README's example driver prints a line and returns: it is loaded as
// the original platform loaded it, stays up, and its line is heard.
func TestAgentReadmeDriver(t *testing.T) {
	hello := driverName("hello")
	t.Parallel()
	e := newE2E(t, "process")
	e.createDriver(hello, "python3")
	e.addVersion(hello, "1.0.0", indexPy(t, `print("hello from the meter driver")`+"\n"), nil)
	e.bind(hello, "1.0.0")
	mustSucceed(t, e.deploy("deploy"))
	e.waitRuntime(hello, "running 1.0.0", func(r runtimeView) bool { return r.State == "running" && r.Version == "1.0.0" })
	e.waitLogs(hello, "hello from the meter driver")
}

// A driver that raises at start: the deployment fails, and its traceback
// reaches the server's log; the binding says it failed. A version that
// crashes again and again is then reported crash-looping.
func TestAgentCrashingDriverIsHeard(t *testing.T) {
	crashy := driverName("crashy")
	t.Parallel()
	e := newE2E(t, "process")
	e.createDriver(crashy, "python3")
	e.addVersion(crashy, "1.0", indexPy(t, "print('connecting to the PLC')\nraise RuntimeError('PLC unreachable')\n"), nil)
	e.bind(crashy, "1.0")
	if d := e.deploy("deploy"); d.Status != "failed" || !strings.Contains(d.Reason, "did not stay up") {
		t.Errorf("deployment is %s (%q), want failed: 1.0 did not stay up", d.Status, d.Reason)
	}
	e.waitLogs(crashy, "connecting to the PLC", "Traceback (most recent call last):", "RuntimeError: PLC unreachable")
	e.waitRuntime(crashy, "1.0 failed", func(r runtimeView) bool {
		return r.State == "failed" && r.Version == "1.0" && r.LastExit == "exit status 1"
	})

	// 2.0 stays up through the health period once, then crashes at each start.
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("driverhub-e2e-%s-%d", crashy, os.Getpid()))
	t.Cleanup(func() { os.Remove(marker) })
	e.addVersion(crashy, "2.0", indexPy(t, fmt.Sprintf(`import os, sys, time
if not os.path.exists(%q):
    open(%[1]q, "w").close()
    time.sleep(3)
print("cannot reach the PLC: exiting")
sys.exit(5)
`, marker)), nil)
	e.bind(crashy, "2.0")
	mustSucceed(t, e.deploy("deploy"))
	e.waitRuntime(crashy, "2.0 crash-looping", func(r runtimeView) bool {
		return r.State == "crashloop" && r.Version == "2.0" && r.LastExit == "exit status 5"
	})
	e.waitLogs(crashy, "cannot reach the PLC: exiting")
}

// agentFiles lists what the agent's sub directory holds, recursively.
func (e *e2e) agentFiles(sub string) []string {
	root := filepath.Join(e.agentDir, sub)
	var out []string
	_ = filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err == nil && path != root {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// After 5 upgrades the gateway holds the running version and the one
// before; after a reset, nothing of the driver.
func TestAgentDiskAfterUpgradesAndReset(t *testing.T) {
	disk := driverName("disk")
	t.Parallel()
	e := newE2E(t, "process")
	e.createDriver(disk, "python3")
	var shas []string
	for i := 1; i <= 6; i++ {
		version := fmt.Sprintf("%d.0", i)
		shas = append(shas, e.addVersion(disk, version, samplePackage(t, "python3", version), nil))
		e.bind(disk, version)
		mustSucceed(t, e.deploy("deploy"))
	}
	wantDirs := []string{"5.0-" + shas[4][:12], "6.0-" + shas[5][:12]}
	wantCache := []string{shas[4], shas[5]}
	slices.Sort(wantCache)
	eventually(t, reportWait, "the gateway keeps 6.0 and 5.0 alone", func() (bool, string) {
		var dirs []string
		entries, _ := os.ReadDir(filepath.Join(e.agentDir, "drivers", disk))
		for _, en := range entries {
			if en.IsDir() && en.Name() != "runtime" {
				dirs = append(dirs, en.Name())
			}
		}
		cache := e.agentFiles("cache")
		return slices.Equal(dirs, wantDirs) && slices.Equal(cache, wantCache), fmt.Sprintf("unpacked %q, cache %q", dirs, cache)
	})

	mustSucceed(t, e.deploy("reset"))
	eventually(t, reportWait, "nothing of the driver is left", func() (bool, string) {
		left := map[string][]string{}
		for _, sub := range []string{"drivers", "cache", "logs"} {
			if files := e.agentFiles(sub); len(files) > 0 {
				left[sub] = files
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}
