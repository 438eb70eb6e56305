package agent

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/testenv"
)

// The interpreters on PATH report the versions they say of themselves.
func TestProbeVersionsOfTheInstalledInterpreters(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:"+os.Getenv("PATH")) // a version manager's shim starts slowly
	own := map[driverhub.Runtime][]string{
		driverhub.RuntimePython3: {"python3", "-c", "import platform; print(platform.python_version())"},
		driverhub.RuntimeNodeJS:  {"node", "-p", "process.versions.node"},
	}
	want := map[driverhub.Runtime]string{}
	for rt, argv := range own {
		out, err := exec.Command(testenv.Command(t, argv[0]), argv[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", argv, err)
		}
		want[rt] = strings.TrimSpace(string(out))
	}
	got := probeVersions(versionCommands, versionProbeTimeout).wait(context.Background())
	for rt, v := range want {
		if got[rt] != v {
			t.Errorf("%s: probed %q, the interpreter says %q", rt, got[rt], v)
		}
	}
	testenv.Command(t, "java")
	if !regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`).MatchString(got[driverhub.RuntimeJava]) {
		t.Errorf("java: probed %q, want a version number", got[driverhub.RuntimeJava])
	}
}
