package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/testenv"
)

// The end-to-end tests of what drivers receive: one driver per config
// format (kv, json, file) on every runtime, each with a device, checked
// against the driver contract (SPEC §7).

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
		reports[driver] = bindConfigCase(e, c, i, driver, runtime, pkg, out)
	}
	if out != "" {
		e.waitCapabilities() // volume mappings need a gateway known to isolate
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
			checkConfigDriver(t, e, c, i, driver, runtime, reports[driver])
		})
	}
}

// bindConfigCase creates the i-th driver of deployConfigs, with its
// version, binding, config and device, and returns where its report will
// be. With out set, the version's kv config names the report's path and
// the container gets out mapped at the same path.
func bindConfigCase(e *e2e, c configCase, i int, driver, runtime string, pkg []byte, out string) string {
	e.createDriver(driver, runtime)
	kv := []any{map[string]any{"key": "host", "value": "10.0.0.7", "note": "the PLC"},
		map[string]any{"key": "port", "value": "502", "note": ""}}
	ex := map[string]any{}
	report := e.reportPath(driver)
	configOut := "" // the report's path as the config gives it: none, the default
	if out != "" {
		configOut = filepath.Join(out, driver+".txt")
		report = configOut
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
	return report
}

// checkConfigDriver checks what the i-th driver of deployConfigs received
// (its report at reportPath), its runtime and its logs. It is no t.Helper:
// a failure names the line of the check that failed.
func checkConfigDriver(t *testing.T, e *e2e, c configCase, i int, driver, runtime, reportPath string) {
	rep := waitReport(t, reportPath, "written", func(r report) bool { return r["version"] == "1.0" })
	cfg := checkContract(t, e, driver, runtime, rep)
	checkDeviceList(t, cfg, driver, i)
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
	checkTickLogs(t, e, driver)
}

// checkDeviceList asserts that the i-th driver of deployConfigs received
// its one device, with the device config deployConfigs gave it.
func checkDeviceList(t *testing.T, cfg map[string]any, driver string, i int) {
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
}

// checkTickLogs waits until the driver's tick lines reach the server and
// checks that logs?tail=5 answers at most 5 lines.
func checkTickLogs(t *testing.T, e *e2e, driver string) {
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
