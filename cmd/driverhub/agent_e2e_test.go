package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/testenv"
)

// The end-to-end tests of the edge agent: a real server and a real agent,
// both child processes, and sample drivers (testdata/drivers) that write
// what they received to a report file and then stay up.

// entryFile is the package's entry file per runtime (SPEC §3).
var entryFile = map[string]string{"python3": "index.py", "nodejs": "index.js", "c": "main", "java": "main.jar"}

// configCase is one driver config format and how a binding gets it.
type configCase struct {
	format string
	// setup configures the bound driver; out is where the driver must write
	// its report when the config carries the path ("" for the default).
	setup func(e *e2e, driver, out string)
	// check asserts the "config" the driver received.
	check func(t *testing.T, e *e2e, driver string, cfg map[string]any, rep report)
}

const settingsINI = "[modbus]\nhost=10.0.0.7\nport=502\n"

func kvCase() configCase {
	return configCase{format: "kv",
		// kv is the version's default driver config, set by deployConfigs.
		setup: func(e *e2e, driver, out string) {},
		check: func(t *testing.T, e *e2e, driver string, cfg map[string]any, rep report) {
			kv, _ := cfg["kv"].([]any)
			if len(kv) < 2 {
				t.Fatalf("config.kv = %v, want the version's pairs", cfg["kv"])
			}
			want := map[string]any{"key": "host", "value": "10.0.0.7", "note": "the PLC"}
			if !reflect.DeepEqual(kv[0], want) {
				t.Errorf("config.kv[0] = %v, want %v", kv[0], want)
			}
		}}
}

func jsonCase() configCase {
	return configCase{format: "json",
		// json is the instance driver config: it overrides the version's default.
		setup: func(e *e2e, driver, out string) {
			obj := map[string]any{"host": "10.0.0.8", "port": 502, "tags": []any{"a", "b"}}
			if out != "" {
				obj["out"] = out
			}
			e.api("PUT", e.bindingPath(driver)+"/config", map[string]any{"format": "json", "json": obj}, 200, nil)
		},
		check: func(t *testing.T, e *e2e, driver string, cfg map[string]any, rep report) {
			obj, _ := cfg["json"].(map[string]any)
			if obj["host"] != "10.0.0.8" || obj["port"] != 502.0 || !reflect.DeepEqual(obj["tags"], []any{"a", "b"}) {
				t.Errorf("config.json = %v, want the instance driver config", cfg["json"])
			}
		}}
}

func fileCase() configCase {
	return configCase{format: "file",
		// file is an instance driver config uploaded as a file.
		setup: func(e *e2e, driver, out string) {
			data := settingsINI
			if out != "" {
				data += "out=" + out + "\n"
			}
			e.api("PUT", e.bindingPath(driver)+"/config-file?name=settings.ini", []byte(data), 200, nil)
		},
		check: func(t *testing.T, e *e2e, driver string, cfg map[string]any, rep report) {
			want := []any{map[string]any{"path": "settings.ini"}}
			if !reflect.DeepEqual(cfg["fileList"], want) {
				t.Errorf("config.fileList = %v, want %v", cfg["fileList"], want)
			}
			if !strings.HasPrefix(rep["settings"], settingsINI) {
				t.Errorf("settings.ini in the working directory holds %q, want the uploaded %q", rep["settings"], settingsINI)
			}
		}}
}

// deployConfigs binds one driver of the runtime per config format, each
// with a device carrying a device config, deploys, and checks what every
// driver received, its runtime and its logs. With out set (runc), drivers
// write their reports into out, given them through their config.
func deployConfigs(t *testing.T, e *e2e, runtime, prefix string, out string) {
	pkg := samplePackage(t, runtime, "1.0")
	cases := []configCase{kvCase(), jsonCase(), fileCase()}
	reports, names := map[string]string{}, map[string]string{}
	for i, c := range cases {
		driver := driverName(prefix + "_" + c.format)
		names[c.format] = driver
		e.createDriver(driver, runtime)
		kv := []any{map[string]any{"key": "host", "value": "10.0.0.7", "note": "the PLC"},
			map[string]any{"key": "port", "value": "502", "note": ""}}
		ex := map[string]any{}
		reports[driver] = e.reportPath(driver)
		configOut := "" // the report's path as the config gives it: none, the default
		if out != "" {
			configOut = filepath.Join(out, driver+".txt")
			reports[driver] = configOut
			kv = append(kv, map[string]any{"key": "out", "value": configOut, "note": ""})
			// The container sees the report directory at the same path.
			ex["container"] = map[string]any{"volume_mappings": []any{
				map[string]any{"host_path": out, "container_path": out, "permission": "rw"}}}
		}
		ex["driver_config"] = map[string]any{"format": "kv", "kv": kv}
		e.addVersion(driver, "1.0", pkg, ex)
		e.bind(driver, "1.0")
		c.setup(e, driver, configOut)
		e.addDevice("meter", driver+"-dev", driver, map[string]any{"slave": i + 1, "unit": "kW"})
	}
	d := e.deploy("deploy")
	mustSucceed(t, d)
	if want := 3 * len(cases); len(d.Resources) != want { // driver, driver_config, device_config each
		t.Errorf("the deployment has %d resources, want %d: %+v", len(d.Resources), want, d.Resources)
	}
	for _, r := range d.Resources {
		if r.Status != "succeeded" || r.Stage != "finish" {
			t.Errorf("resource %s %s is %s at stage %s, want succeeded at finish", r.Type, r.Name, r.Status, r.Stage)
		}
	}

	for i, c := range cases {
		driver := names[c.format]
		t.Run(c.format, func(t *testing.T) {
			rep := waitReport(t, reports[driver], "written", func(r report) bool { return r["version"] == "1.0" })
			cfg := checkContract(t, e, driver, runtime, rep)
			devs, _ := cfg["deviceList"].([]any)
			wantDev := map[string]any{"productKey": "meter", "deviceName": driver + "-dev"}
			if len(devs) != 1 {
				t.Errorf("deviceList = %v, want the one associated device", cfg["deviceList"])
			} else if dev, _ := devs[0].(map[string]any); dev["productKey"] != wantDev["productKey"] || dev["deviceName"] != wantDev["deviceName"] {
				t.Errorf("deviceList[0] = %v, want %v", dev, wantDev)
			} else if custom, ok := dev["custom"].(string); !ok {
				t.Errorf("deviceList[0].custom = %#v, want the device config as a string", dev["custom"])
			} else {
				var got map[string]any
				if err := json.Unmarshal([]byte(custom), &got); err != nil || got["slave"] != float64(i+1) || got["unit"] != "kW" {
					t.Errorf("deviceList[0].custom = %q, want the device config {\"slave\":%d,\"unit\":\"kW\"}", custom, i+1)
				}
			}
			if n := len(cfg["config"].(map[string]any)); n != 1 {
				t.Errorf("config has %d keys, want exactly one: %v", n, cfg["config"])
			}
			inner, _ := cfg["config"].(map[string]any)
			c.check(t, e, driver, inner, rep)
			if c.format == "file" && e.runtime == "process" {
				if b, err := os.ReadFile(filepath.Join(rep["cwd"], "settings.ini")); err != nil || !strings.HasPrefix(string(b), settingsINI) {
					t.Errorf("settings.ini in the working directory: %q, %v", b, err)
				}
			}
			e.waitRuntime(driver, "running 1.0, with its memory use", func(r runtimeView) bool {
				return r.State == "running" && r.Version == "1.0" && r.MemoryBytes > 0
			})
			var logs struct {
				Lines []struct {
					Stream string `json:"stream"`
					Text   string `json:"text"`
				} `json:"lines"`
			}
			eventually(t, reportWait, driver+"'s output reaches the server", func() (bool, string) {
				e.api("GET", e.bindingPath(driver)+"/logs?tail=5", nil, 200, &logs)
				for _, l := range logs.Lines {
					if strings.HasPrefix(l.Text, "tick ") && strings.Contains(l.Text, driver) {
						return len(logs.Lines) <= 5, ""
					}
				}
				return false, "no tick line yet"
			})
			if len(logs.Lines) > 5 {
				t.Errorf("logs?tail=5 answered %d lines", len(logs.Lines))
			}
		})
	}
}

// checkContract asserts the driver contract of SPEC §7 on a report and
// returns the runtime config the driver received.
func checkContract(t *testing.T, e *e2e, driver, runtime string, rep report) map[string]any {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	e.api("GET", "/api/v1/drivers/"+driver, nil, 200, &d)
	mid, manifestCfg := e.manifestDriver(driver)
	if rep["FUNCTION_ID"] != d.ID || mid != d.ID {
		t.Errorf("FUNCTION_ID = %q, want the driver's id %q (manifest: %q)", rep["FUNCTION_ID"], d.ID, mid)
	}
	if rep["FUNCTION_NAME"] != driver {
		t.Errorf("FUNCTION_NAME = %q, want %q", rep["FUNCTION_NAME"], driver)
	}
	var got, want, file map[string]any
	if err := json.Unmarshal([]byte(rep["FC_DRIVER_CONFIG"]), &got); err != nil {
		t.Fatalf("FC_DRIVER_CONFIG %q: %v", rep["FC_DRIVER_CONFIG"], err)
	}
	if err := json.Unmarshal(manifestCfg, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FC_DRIVER_CONFIG = %s\nwant the manifest's runtime_config %s", rep["FC_DRIVER_CONFIG"], manifestCfg)
	}
	if rep["DRIVERHUB_CONFIG"] == "" {
		t.Errorf("DRIVERHUB_CONFIG is not set")
	} else if err := json.Unmarshal([]byte(rep["DRIVERHUB_CONFIG_CONTENT"]), &file); err != nil || !reflect.DeepEqual(file, got) {
		t.Errorf("DRIVERHUB_CONFIG (%s) holds %q (%s), want the JSON of FC_DRIVER_CONFIG", rep["DRIVERHUB_CONFIG"], rep["DRIVERHUB_CONFIG_CONTENT"], rep["DRIVERHUB_CONFIG_ERROR"])
	}
	files := strings.Split(rep["files"], "\n")
	if !slices.Contains(files, entryFile[runtime]) {
		t.Errorf("the working directory %s holds %q, want the unpacked package with %s", rep["cwd"], files, entryFile[runtime])
	}
	if e.runtime == "process" {
		root, _ := filepath.EvalSymlinks(filepath.Join(e.agentDir, "drivers", driver))
		if !strings.HasPrefix(rep["cwd"], root+string(filepath.Separator)) {
			t.Errorf("working directory %s, want the unpacked package under %s", rep["cwd"], root)
		}
	}
	ld, hasLD := rep["LD_LIBRARY_PATH"]
	if runtime == "c" {
		if ld != "lib" {
			t.Errorf("LD_LIBRARY_PATH = %q, want lib", ld)
		}
		if rep["lib"] != "hello from libgreet" {
			t.Errorf("the c driver's library answered %q", rep["lib"])
		}
	} else if hasLD && e.runtime == "process" {
		t.Errorf("LD_LIBRARY_PATH = %q for a %s driver: only c drivers get it", ld, runtime)
	}
	// Nothing of the agent's own environment reaches a driver: only the
	// contract's variables on top of PATH, HOME and LANG (plus what the
	// interpreter's launcher adds: pyenv's shim, a shell's PWD and SHLVL).
	allowed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, "FUNCTION_ID": true, "FUNCTION_NAME": true,
		"FC_DRIVER_CONFIG": true, "DRIVERHUB_CONFIG": true, "LD_LIBRARY_PATH": runtime == "c", "PWD": true, "SHLVL": true}
	var extra []string
	for _, name := range strings.Split(rep["env"], "\n") {
		switch {
		case name == "DRIVERHUB_GATEWAY_SECRET" || name == "DRIVERHUB_E2E_CANARY":
			t.Errorf("the agent's %s reached the driver's environment", name)
		case allowed[name], strings.HasPrefix(name, "PYENV_"), strings.HasPrefix(name, "_PYENV_"):
		case e.runtime == "runc" && (name == "HOSTNAME" || name == "TERM" || name == "container"):
		default:
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		t.Errorf("the driver's environment has variables beyond SPEC §7 (PATH, HOME, LANG and the contract's): %v", extra)
	}
	return got
}

// TestAgentDeployRuntimes deploys a driver of every runtime with a kv, a
// json and a file config and checks what each driver received.
func TestAgentDeployRuntimes(t *testing.T) {
	t.Parallel()
	for _, rt := range []struct{ runtime, prefix string }{{"python3", "py"}, {"nodejs", "js"}, {"c", "c"}, {"java", "java"}} {
		t.Run(rt.runtime, func(t *testing.T) {
			t.Parallel()
			if rt.runtime == "java" {
				requireTools(t, "javac", "jar", "java")
			}
			if rt.runtime == "nodejs" {
				requireTools(t, "node")
			}
			deployConfigs(t, newE2E(t, "process"), rt.runtime, rt.prefix, "")
		})
	}
}

// TestAgentRuncConfigs is TestAgentDeployRuntimes's python3 case run as
// OCI containers.
func TestAgentRuncConfigs(t *testing.T) {
	t.Parallel()
	requireTools(t, "runc")
	testenv.Root(t, "runc")
	e := newE2E(t, "runc")
	time.Sleep(time.Second)
	if out := e.agent.out.String(); e.agent.exited() && strings.Contains(out, "cannot run drivers here") {
		testenv.Require(t, "the agent refused --runtime runc here: "+lastLines(out, 1))
	}
	// The drivers, each its own user, all write their reports there.
	out := t.TempDir()
	if err := os.Chmod(out, 0o1777); err != nil {
		t.Fatal(err)
	}
	deployConfigs(t, e, "python3", "rpy", out)
}

// deployPython binds a python3 sample driver at 1.0, deploys it and
// returns its report.
func deployPython(t *testing.T, e *e2e, driver string) report {
	t.Helper()
	e.createDriver(driver, "python3")
	e.addVersion(driver, "1.0", samplePackage(t, "python3", "1.0"), nil)
	e.bind(driver, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	return waitReport(t, e.reportPath(driver), "1.0 runs", func(r report) bool { return r["version"] == "1.0" })
}

// onlyOne asserts that exactly one process of the driver runs.
func onlyOne(t *testing.T, e *e2e, driver string) int {
	t.Helper()
	var pids []int
	eventually(t, 10*time.Second, "exactly one process of "+driver, func() (bool, string) {
		pids = e.driverProcs(driver)
		return len(pids) == 1, describePids(pids)
	})
	return pids[0]
}

func describePids(pids []int) string {
	var s []string
	for _, p := range pids {
		s = append(s, cmdline(p))
	}
	return strings.Join(s, " | ")
}

// TestAgentUpgrade deploys 1.0, then 2.0: 2.0 runs, and only it.
func TestAgentUpgrade(t *testing.T) {
	up := driverName("up")
	t.Parallel()
	e := newE2E(t, "process")
	first := deployPython(t, e, up)
	e.addVersion(up, "2.0", samplePackage(t, "python3", "2.0"), nil)
	e.bind(up, "2.0")
	mustSucceed(t, e.deploy("deploy"))
	rep := waitReport(t, e.reportPath(up), "2.0 runs", func(r report) bool { return r["version"] == "2.0" })
	if pidAlive(first.pid(t)) {
		t.Errorf("1.0 (pid %d) still runs after the upgrade", first.pid(t))
	}
	time.Sleep(time.Second)
	if pid := onlyOne(t, e, up); pid != rep.pid(t) {
		t.Errorf("the running process is %d, 2.0 reported %d", pid, rep.pid(t))
	}
	e.waitRuntime(up, "running 2.0", func(r runtimeView) bool { return r.State == "running" && r.Version == "2.0" })
}

// TestAgentRestartsKilledDriver kills a driver: it comes back.
func TestAgentRestartsKilledDriver(t *testing.T) {
	victim := driverName("victim")
	t.Parallel()
	e := newE2E(t, "process")
	pid := deployPython(t, e, victim).pid(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rep := waitReport(t, e.reportPath(victim), "a new process", func(r report) bool { return r["pid"] != strconv.Itoa(pid) })
	if !pidAlive(rep.pid(t)) {
		t.Errorf("the restarted driver (pid %d) is not running", rep.pid(t))
	}
	onlyOne(t, e, victim)
	v := e.waitRuntime(victim, "restarted and running", func(r runtimeView) bool { return r.Restarts >= 1 && r.State == "running" })
	if !strings.Contains(v.LastExit, "SIGKILL") && !strings.Contains(v.LastExit, "killed") {
		t.Errorf("last_exit %q does not say how it ended", v.LastExit)
	}
}

// TestAgentMemoryLimit runs a driver that outgrows memory_limit_mb 32: the
// agent restarts it, again and again.
func TestAgentMemoryLimit(t *testing.T) {
	hog := driverName("hog")
	t.Parallel()
	e := newE2E(t, "process")
	e.createDriver(hog, "python3")
	e.addVersion(hog, "1.0", samplePackage(t, "memhog", "1.0"),
		map[string]any{"container": map[string]any{"memory_limit_mb": 32}})
	e.bind(hog, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	v := e.waitRuntime(hog, "restarted twice for memory", func(r runtimeView) bool {
		return r.Restarts >= 2 && strings.Contains(strings.ToLower(r.LastExit), "memory")
	})
	t.Logf("hog: %+v", v)
}

// TestAgentCorruptBlob deploys a version whose stored blob was damaged: the
// agent refuses it at verify and the running version keeps running.
func TestAgentCorruptBlob(t *testing.T) {
	sturdy := driverName("sturdy")
	t.Parallel()
	e := newE2E(t, "process")
	pid := deployPython(t, e, sturdy).pid(t)
	sha := e.addVersion(sturdy, "2.0", samplePackage(t, "python3", "2.0"), nil)
	blob := filepath.Join(e.data, "blobs", sha[:2], sha)
	b := readFile(t, blob)
	for i := range b {
		b[i] ^= 0x5a // same length, other bytes: nothing else produces this fault
	}
	writeFile(t, blob, b)
	e.bind(sturdy, "2.0")
	d := e.deploy("deploy")
	if _, err := os.Stat(filepath.Join(e.agentDir, "cache", sha)); err == nil {
		t.Errorf("the damaged blob was kept in the agent's cache under its digest")
	}
	if d.Status != "failed" {
		t.Errorf("deployment is %s, want failed", d.Status)
	}
	var found bool
	for _, r := range d.Resources {
		if r.Type != "driver" || r.Name != sturdy {
			continue
		}
		found = true
		var msgs []string
		for _, l := range r.Log {
			msgs = append(msgs, l.Stage+": "+l.Message)
		}
		// The server checks the blob as it sends it and cuts the transfer
		// short; the agent's own SHA-256 check (internal/agent's tests)
		// stays the second line, for presigned downloads.
		if r.Stage != "download" || r.Status != "failed" || !strings.Contains(strings.Join(msgs, "\n"), "unexpected EOF") {
			t.Errorf("driver resource at stage %s, status %s, log %q; want failed at download, cut short by the server", r.Stage, r.Status, msgs)
		}
	}
	if !found {
		t.Errorf("the deployment has no driver resource sturdy: %+v", d.Resources)
	}
	time.Sleep(time.Second)
	if !pidAlive(pid) {
		t.Errorf("1.0 (pid %d) stopped", pid)
	}
	if got := onlyOne(t, e, sturdy); got != pid {
		t.Errorf("the running process is %d, want 1.0's %d", got, pid)
	}
	e.waitRuntime(sturdy, "1.0 running", func(r runtimeView) bool { return r.State == "running" && r.Version == "1.0" })
}

// TestAgentRollback deploys a version that exits at once over a running 1.0.
func TestAgentRollback(t *testing.T) {
	flaky := driverName("flaky")
	t.Parallel()
	e := newE2E(t, "process")
	pid := deployPython(t, e, flaky).pid(t)
	e.addVersion(flaky, "2.0", samplePackage(t, "exit3", "2.0"), nil)
	e.bind(flaky, "2.0")
	d := e.deploy("deploy")
	if d.Status != "failed" || !strings.Contains(d.Reason, "did not stay up") {
		t.Errorf("deployment is %s with reason %q; want failed, saying 2.0 did not stay up", d.Status, d.Reason)
	}
	rep := waitReport(t, e.reportPath(flaky), "1.0 runs again", func(r report) bool {
		return r["version"] == "1.0" && r["pid"] != strconv.Itoa(pid)
	})
	if got := onlyOne(t, e, flaky); got != rep.pid(t) {
		t.Errorf("the running process is %d, 1.0 reported %d", got, rep.pid(t))
	}
	e.waitRuntime(flaky, "1.0 running", func(r runtimeView) bool { return r.State == "running" && r.Version == "1.0" })
}

// TestAgentServerAway kills the server: the driver keeps running; the
// server comes back, and the agent applies the next deployment.
func TestAgentServerAway(t *testing.T) {
	steady := driverName("steady")
	t.Parallel()
	e := newE2E(t, "process")
	pid := deployPython(t, e, steady).pid(t)
	e.srv.kill()
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if !pidAlive(pid) || e.agent.exited() {
			t.Fatalf("with the server gone: driver alive %v, agent exited %v", pidAlive(pid), e.agent.exited())
		}
	}
	e.restartServer()
	// What the driver printed while the server was away reaches it later:
	// its ticks are consecutive, with no gap for the outage.
	eventually(t, reportWait, "the outage's output reaches the server", func() (bool, string) {
		var logs struct {
			Lines []struct {
				Text string `json:"text"`
			} `json:"lines"`
		}
		e.api("GET", e.bindingPath(steady)+"/logs?tail=1000", nil, 200, &logs)
		seen := map[int]bool{}
		lo, hi := 1<<30, 0
		for _, l := range logs.Lines {
			var n int
			if _, err := fmt.Sscanf(l.Text, "tick %d "+steady+" 1.0", &n); err == nil {
				seen[n], lo, hi = true, min(lo, n), max(hi, n)
			}
		}
		return len(seen) >= 8 && len(seen) == hi-lo+1, fmt.Sprintf("%d distinct ticks from %d to %d", len(seen), lo, hi)
	})
	e.addVersion(steady, "2.0", samplePackage(t, "python3", "2.0"), nil)
	e.bind(steady, "2.0")
	mustSucceed(t, e.deploy("deploy"))
	waitReport(t, e.reportPath(steady), "2.0 runs", func(r report) bool { return r["version"] == "2.0" })
	onlyOne(t, e, steady)
}

// TestAgentCrashRestart kills the agent and starts it again: never two
// processes of one driver.
func TestAgentCrashRestart(t *testing.T) {
	pyd, jsd := driverName("pyd"), driverName("jsd")
	t.Parallel()
	requireTools(t, "node")
	e := newE2E(t, "process")
	e.createDriver(pyd, "python3")
	e.addVersion(pyd, "1.0", samplePackage(t, "python3", "1.0"), nil)
	e.bind(pyd, "1.0")
	e.createDriver(jsd, "nodejs")
	e.addVersion(jsd, "1.0", samplePackage(t, "nodejs", "1.0"), nil)
	e.bind(jsd, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	drivers := []string{pyd, jsd}
	before := map[string]int{}
	for _, d := range drivers {
		waitReport(t, e.reportPath(d), "running", func(r report) bool { return r["version"] == "1.0" })
		before[d] = onlyOne(t, e, d)
	}
	e.agent.kill(t)
	e.agent = e.startAgent()
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, d := range drivers {
			if pids := e.driverProcs(d); len(pids) > 1 {
				t.Fatalf("%s runs twice after the agent's restart: %s", d, describePids(pids))
			}
		}
	}
	for _, d := range drivers {
		pid := onlyOne(t, e, d)
		t.Logf("%s: pid %d before the agent's crash, %d after", d, before[d], pid)
		e.waitRuntime(d, "running", func(r runtimeView) bool { return r.State == "running" })
	}
}

// TestAgentReset empties the gateway.
func TestAgentReset(t *testing.T) {
	gone := driverName("gone")
	t.Parallel()
	e := newE2E(t, "process")
	deployPython(t, e, gone)
	mustSucceed(t, e.deploy("reset"))
	if pids := e.driverProcs(gone); len(pids) != 0 {
		t.Errorf("after the reset the driver still runs: %s", describePids(pids))
	}
	entries, err := os.ReadDir(filepath.Join(e.agentDir, "drivers", gone))
	if err == nil && len(entries) > 0 {
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Errorf("after the reset the agent's drivers dir still holds gone/: %v", names)
	}
}

// TestAgentMemoryAccounting checks that a running c driver's memory_bytes
// counts its memory (SPEC §5: the runtime's memory_bytes).
func TestAgentMemoryAccounting(t *testing.T) {
	cmem := driverName("cmem")
	t.Parallel()
	e := newE2E(t, "process")
	e.createDriver(cmem, "c")
	e.addVersion(cmem, "1.0", samplePackage(t, "c", "1.0"), nil)
	e.bind(cmem, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	waitReport(t, e.reportPath(cmem), "running", func(r report) bool { return r["version"] == "1.0" })
	// Heartbeats come every 15 s: give it two.
	e.waitRuntime(cmem, "running with memory_bytes > 0", func(r runtimeView) bool {
		return r.State == "running" && r.MemoryBytes > 0
	})
}

// TestAgentConfigNameCollision deploys a package holding a file where the
// agent writes the driver's configuration: the resource fails at unpack,
// saying so, and the running version stays.
func TestAgentConfigNameCollision(t *testing.T) {
	clash := driverName("clash")
	t.Parallel()
	e := newE2E(t, "process")
	pid := deployPython(t, e, clash).pid(t)
	pkg := zipOf(t, zipEntry{name: "index.py", data: sampleSource(t, "python3", "index.py", "2.0")},
		zipEntry{name: ".driverhub-config.json", data: []byte(`{"shipped":"with the package"}`)})
	e.addVersion(clash, "2.0", pkg, nil)
	e.bind(clash, "2.0")
	d := e.deploy("deploy")
	if d.Status != "failed" {
		t.Errorf("deployment is %s, want failed", d.Status)
	}
	var msgs []string
	for _, r := range d.Resources {
		if r.Type == "driver" && r.Name == clash {
			for _, l := range r.Log {
				msgs = append(msgs, l.Stage+": "+l.Message)
			}
			if r.Stage != "unpack" || r.Status != "failed" {
				t.Errorf("driver resource at %s/%s, want failed at unpack", r.Stage, r.Status)
			}
		}
	}
	if !strings.Contains(strings.Join(msgs, "\n"), ".driverhub-config.json") {
		t.Errorf("the log does not name the clashing file: %q", msgs)
	}
	time.Sleep(time.Second)
	if !pidAlive(pid) {
		t.Errorf("1.0 (pid %d) stopped", pid)
	}
}
