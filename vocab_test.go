package driverhub_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// The wire spelling of every vocabulary is part of the API (SPEC §3, §5, §6):
// agents, scripts and stored rows all carry these exact words.
func TestVocabulariesMatchSpec(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want string
	}{
		{"protocols", driverhub.Words(driverhub.Protocols), "modbus, opcua, lorawan, custom"},
		{"runtimes", driverhub.Words(driverhub.AllRuntimes), "nodejs, python3, c, java"},
		{"cpu archs", driverhub.Words(driverhub.CPUArchs), "armv7, armv7-hf, aarch64, x86-64, x86"},
		{"stages", driverhub.Words(driverhub.AllStages), "init, download, verify, unpack, start, finish"},
		{"driver states", driverhub.Words(driverhub.AllDriverStates), "starting, running, restarting, crashloop, stopped, failed"},
		{"resource types", driverhub.Words(driverhub.AllResourceTypes), "driver, driver_config, device_config"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestVocabulariesValid(t *testing.T) {
	for _, tt := range []struct {
		word      string
		got, want bool
	}{
		{"runtime java", driverhub.RuntimeJava.Valid(), true},
		{"runtime go", driverhub.Runtime("go").Valid(), false},
		{"runtime Python3", driverhub.Runtime("Python3").Valid(), false},
		{"runtime empty", driverhub.Runtime("").Valid(), false},
		{"stage finish", driverhub.StageFinish.Valid(), true},
		{"stage done", driverhub.Stage("done").Valid(), false},
		{"state crashloop", driverhub.DriverCrashloop.Valid(), true},
		{"state crashed", driverhub.DriverState("crashed").Valid(), false},
		{"resource device_config", driverhub.ResourceDeviceConfig.Valid(), true},
		{"resource config", driverhub.ResourceType("config").Valid(), false},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: Valid() = %v, want %v", tt.word, tt.got, tt.want)
		}
	}
}

func TestRuntimeCommand(t *testing.T) {
	for _, tt := range []struct {
		rt        driverhub.Runtime
		jvm       string
		entry     string
		argv, env []string
	}{
		{driverhub.RuntimeC, "", "main", []string{"./main"}, []string{"LD_LIBRARY_PATH=lib"}},
		// Node.js and Python drivers are loaded: the loader's source is
		// argv[2] (runtimeloader_test.go runs it), the entry file its argument.
		{driverhub.RuntimeNodeJS, "", "index.js", []string{"node", "-e", loaderSource, "index.js"}, nil},
		{driverhub.RuntimePython3, "-Xmx1m", "index.py", []string{"python3", "-c", loaderSource, "index.py"}, nil},
		{driverhub.RuntimeJava, "", "main.jar", []string{"java", "-jar", "main.jar"}, nil},
		{driverhub.RuntimeJava, " -Xmx64m  -Dmode=rtu ", "main.jar", []string{"java", "-Xmx64m", "-Dmode=rtu", "-jar", "main.jar"}, nil},
	} {
		if got := tt.rt.EntryFile(); got != tt.entry {
			t.Errorf("%s: EntryFile() = %q, want %q", tt.rt, got, tt.entry)
		}
		argv, env, ok := tt.rt.Command(tt.jvm)
		if !ok {
			t.Errorf("%s: Command not ok", tt.rt)
		}
		if len(argv) == len(tt.argv) && len(argv) > 2 && tt.argv[2] == loaderSource {
			if strings.TrimSpace(argv[2]) == "" {
				t.Errorf("%s: empty loader source", tt.rt)
			}
			argv = append(slices.Clone(argv[:2]), append([]string{loaderSource}, argv[3:]...)...)
		}
		if diff := cmp.Diff(tt.argv, argv); diff != "" {
			t.Errorf("%s %q: argv (-want +got):\n%s", tt.rt, tt.jvm, diff)
		}
		if diff := cmp.Diff(tt.env, env); diff != "" {
			t.Errorf("%s: env (-want +got):\n%s", tt.rt, diff)
		}
	}
	if argv, _, ok := driverhub.Runtime("go").Command(""); ok || argv != nil {
		t.Errorf("unknown runtime: Command = %v, %v; want nil, false", argv, ok)
	}
	if got := driverhub.Runtime("go").EntryFile(); got != "" {
		t.Errorf("unknown runtime: EntryFile = %q, want empty", got)
	}
}

// loaderSource stands for a loader's source in TestRuntimeCommand.
const loaderSource = "<loader source>"

func TestDeployStatusFinished(t *testing.T) {
	for s, want := range map[driverhub.DeployStatus]bool{
		driverhub.DeployPending: false, driverhub.DeployProcessing: false,
		driverhub.DeploySucceeded: true, driverhub.DeployFailed: true,
		driverhub.DeploySuperseded: true, driverhub.DeployClosed: true,
	} {
		if got := (&driverhub.Deployment{Status: s}).Finished(); got != want {
			t.Errorf("deployment %s: Finished() = %v, want %v", s, got, want)
		}
	}
}

func TestDriverStateUp(t *testing.T) {
	for _, s := range driverhub.AllDriverStates {
		want := s == driverhub.DriverStarting || s == driverhub.DriverRunning
		if s.Up() != want {
			t.Errorf("%s.Up() = %v, want %v", s, s.Up(), want)
		}
	}
}

// Named types change nothing on the wire: a report decodes from, and
// encodes to, the same JSON as when the fields were plain strings.
func TestVocabulariesKeepTheirJSON(t *testing.T) {
	const wire = `{"id":"d1","status":"failed","reason":"x","resources":[{"type":"driver_config","name":"n","stage":"unpack","status":"failed","log":[]}]}`
	var r driverhub.DeploymentReport
	if err := json.Unmarshal([]byte(wire), &r); err != nil {
		t.Fatal(err)
	}
	if res := r.Resources[0]; res.Type != driverhub.ResourceDriverConfig || res.Stage != driverhub.StageUnpack || res.Status != driverhub.DeployFailed {
		t.Errorf("decoded resource = %+v", res)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != wire {
		t.Errorf("re-encoded = %s\nwant        %s", out, wire)
	}
}
