package main_test

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/testenv"
)

// The end-to-end tests' sample drivers (testdata/drivers): their packages,
// the reports they write, and their processes as /proc shows them.

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
