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
	// Env holds KEY=VALUE pairs given to the driver on top of PATH, HOME and LANG.
	Env []string
	// Container holds the driver's container settings (SPEC §3). The process
	// runtime applies only the memory limit; runc applies all of them.
	Container driverhub.Container
	// StateDir is a directory the runtime owns for this driver (bundles,
	// pid files). It survives agent restarts.
	StateDir string
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
