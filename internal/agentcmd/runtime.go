package agentcmd

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
	"github.com/driverhub/driverhub/internal/driverrt/process"
	"github.com/driverhub/driverhub/internal/driverrt/runc"
)

// Runtime choices of --runtime.
const (
	runtimeAuto    = "auto"
	runtimeProcess = "process"
	runtimeRunc    = "runc"
)

// chooseRuntime returns the runtime --runtime names and what the gateway
// can enforce (SPEC §12). auto takes runc when it works here, else the
// process runtime; a forced runc that does not work is an error.
func chooseRuntime(choice string, log *slog.Logger) (driverrt.Runtime, *driverhub.Capabilities, error) {
	if choice != runtimeAuto && choice != runtimeProcess && choice != runtimeRunc {
		return nil, nil, fmt.Errorf("--runtime must be auto, process or runc, got %q", choice)
	}
	rc := runc.New(runc.Options{Logger: log})
	runcErr := rc.Check()
	proc := process.New(process.Options{Logger: log})
	caps := &driverhub.Capabilities{Runtimes: []string{runtimeProcess}}
	if runcErr == nil {
		caps.Runtimes = append(caps.Runtimes, runtimeRunc)
	}
	switch {
	case choice == runtimeRunc && runcErr != nil:
		return nil, nil, fmt.Errorf("--runtime runc: %w", runcErr)
	case choice == runtimeRunc, choice == runtimeAuto && runcErr == nil:
		caps.Isolation, caps.Cgroup = true, runcCgroup(cgroupfs.DefaultRoot)
		return rc, caps, nil
	}
	if choice == runtimeAuto {
		log.Info("runc cannot run drivers here: drivers run as processes, without isolation", "reason", runcErr)
	}
	caps.Cgroup = processCgroup(proc.Enforcement())
	return proc, caps, nil
}

// runcCgroup is the cgroup version runc limits memory with: v2 on a
// unified hierarchy, v1 where the memory controller is mounted alone.
func runcCgroup(root string) string {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return "v2"
	}
	if _, err := os.Stat(filepath.Join(root, "memory")); err == nil {
		return "v1"
	}
	return ""
}

// processCgroup turns the process runtime's "cgroup v1", "cgroup v2" or
// "sampling" into a capability's "v1", "v2" or "".
func processCgroup(enforcement string) string {
	v, ok := strings.CutPrefix(enforcement, "cgroup ")
	if !ok {
		return ""
	}
	return v
}
