// Package driverrt is the contract between the edge agent and the
// runtimes that run drivers: child processes (process) or OCI containers
// (runc). The agent supervises; a runtime only starts, stops and measures.
package driverrt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/driverhub/driverhub"
)

// Spec is everything a runtime needs to run one driver.
type Spec struct {
	// Name is the driver's name, unique on the gateway.
	Name string
	// Dir is the working directory: the unpacked package, or the built-in driver's directory.
	Dir string
	// Command is the argv, run in Dir: ["python3", "index.py"], ["./main"], …
	Command []string
	// Env is the driver's whole environment, KEY=VALUE pairs: nothing of
	// the agent's own environment reaches a driver unless it is here.
	Env []string
	// Container holds the driver's container settings (SPEC §3). A runtime
	// enforces each of them or refuses to start the driver (ContainerChecker),
	// never ignores one.
	Container driverhub.Container
	// User is whom the driver runs as; nil runs it as the agent's own user
	// (an agent that is not root cannot switch).
	User *User
	// StateDir is a directory the runtime owns for this driver (bundles,
	// pid files). It survives agent restarts.
	StateDir string
}

// User is a driver's identity on the gateway (SPEC §12): its own uid
// from the agent's range, one user for all (--driver-user), or root for a
// privileged version. Supplementary groups are always cleared.
type User struct {
	UID, GID uint32
	// Name and Group name them in a container's /etc/passwd and /etc/group.
	Name, Group string
}

// Root is the user of a privileged driver.
var Root = User{UID: 0, GID: 0, Name: "root", Group: "root"}

// IsRoot reports whether u is root (nil, the agent's own user, is not
// known to be).
func (u *User) IsRoot() bool { return u != nil && u.UID == 0 }

// ContainerChecker is a Runtime that cannot enforce every container
// setting: CheckContainer names, before anything starts, the settings it
// would have to ignore. The agent refuses such a driver at its check.
type ContainerChecker interface {
	CheckContainer(c driverhub.Container) error
}

// MemoryLimitBytes is the spec's memory limit in bytes.
func (s Spec) MemoryLimitBytes() int64 { return int64(s.Container.MemoryLimitMB) << 20 }

// Runtime starts drivers.
type Runtime interface {
	// Name is "process" or "runc".
	Name() string
	// Check reports whether the runtime can run drivers on this machine,
	// with a message saying what is missing.
	Check() error
	// Start starts a driver whose stdout and stderr go to the writers.
	Start(spec Spec, stdout, stderr io.Writer) (Process, error)
	// Cleanup stops and removes whatever an earlier agent left running for
	// the driver in stateDir (after a crash), so that no driver ever runs twice.
	Cleanup(name, stateDir string) error
}

// Process is one run of a driver.
type Process interface {
	// Pid is the driver's main process id on the host.
	Pid() int
	// Wait blocks until the driver has exited and everything of it is gone.
	Wait() Exit
	// Stop asks the driver to end (SIGTERM) and kills it after grace.
	Stop(grace time.Duration) error
	// MemoryBytes is the driver's current memory use, 0 when unknown.
	MemoryBytes() int64
}

// Exit says how a driver ended.
type Exit struct {
	Code   int    // exit status, -1 when killed by a signal
	Signal string // the signal's name when killed by one
	// OOM is set when the driver was killed for exceeding its memory limit.
	OOM bool
	// Err is set when the driver could not be waited for.
	Err error
}

func (e Exit) String() string {
	switch {
	case e.Err != nil:
		return "error: " + e.Err.Error()
	case e.OOM:
		return "killed: memory limit exceeded"
	case e.Signal != "":
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// UnitName names what a runtime creates on the host for a driver
// (a container, a cgroup): the driver's name and a short digest of its
// state directory, so that two agents on one host, or two test runs, never
// share one.
func UnitName(name, stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return name + "-" + hex.EncodeToString(sum[:4])
}
