package driverhub

import (
	"slices"
	"strings"
)

// The product's vocabularies: the words that cross the wire between server,
// agent, console and CLI. Each is a named type with its valid values and
// the behaviour that belongs to the word, so that no package spells them out
// again as bare strings.

// Runtime is the language a driver is written for (the seed's 语言类型:
// Node.js 8, Python 3.5, C, Java 8).
type Runtime string

// Runtimes.
const (
	RuntimeNodeJS  Runtime = "nodejs"
	RuntimePython3 Runtime = "python3"
	RuntimeC       Runtime = "c"
	RuntimeJava    Runtime = "java"
)

// AllRuntimes lists the runtimes in the order forms show them.
var AllRuntimes = []Runtime{RuntimeNodeJS, RuntimePython3, RuntimeC, RuntimeJava}

// Valid reports whether r is one of AllRuntimes.
func (r Runtime) Valid() bool { return slices.Contains(AllRuntimes, r) }

// EntryFile is the file a package of the runtime must hold at its top level.
func (r Runtime) EntryFile() string {
	switch r {
	case RuntimeC:
		return "main"
	case RuntimeNodeJS:
		return "index.js"
	case RuntimePython3:
		return "index.py"
	case RuntimeJava:
		return "main.jar"
	}
	return ""
}

// Command is the argv that starts a driver of the runtime in its unpacked
// package (SPEC §7), and the environment the runtime adds. Node.js and
// Python drivers are loaded (runtimeloader.go): they stay up once their
// entry file's top-level code has returned. jvmArgs is used by java only.
// ok is false for an unknown runtime.
func (r Runtime) Command(jvmArgs string) (argv, env []string, ok bool) {
	switch r {
	case RuntimeC:
		return []string{"./main"}, []string{"LD_LIBRARY_PATH=lib"}, true
	case RuntimeNodeJS:
		return []string{"node", "-e", nodeLoader, r.EntryFile()}, nil, true
	case RuntimePython3:
		return []string{"python3", "-c", pythonLoader, r.EntryFile()}, nil, true
	case RuntimeJava:
		return append(append([]string{"java"}, strings.Fields(jvmArgs)...), "-jar", r.EntryFile()), nil, true
	}
	return nil, nil, false
}

// NeedsCPUArch reports whether drivers of the runtime are built for one CPU
// architecture (only C drivers are).
func (r Runtime) NeedsCPUArch() bool { return r == RuntimeC }

// Stage is a step of a deployment resource on the gateway (SPEC §5), in order.
type Stage string

// Stages.
const (
	StageInit     Stage = "init"
	StageDownload Stage = "download"
	StageVerify   Stage = "verify"
	StageUnpack   Stage = "unpack"
	StageStart    Stage = "start"
	StageFinish   Stage = "finish"
)

// AllStages lists the stages in the order a resource goes through them.
var AllStages = []Stage{StageInit, StageDownload, StageVerify, StageUnpack, StageStart, StageFinish}

// Valid reports whether s is one of AllStages.
func (s Stage) Valid() bool { return slices.Contains(AllStages, s) }

// DriverState is what a gateway says of a driver it runs (SPEC §6).
type DriverState string

// Driver states.
const (
	DriverStarting   DriverState = "starting"
	DriverRunning    DriverState = "running"
	DriverRestarting DriverState = "restarting"
	DriverCrashloop  DriverState = "crashloop"
	DriverStopped    DriverState = "stopped"
	DriverFailed     DriverState = "failed"
)

// AllDriverStates lists every driver state.
var AllDriverStates = []DriverState{DriverStarting, DriverRunning, DriverRestarting, DriverCrashloop, DriverStopped, DriverFailed}

// Valid reports whether s is one of AllDriverStates.
func (s DriverState) Valid() bool { return slices.Contains(AllDriverStates, s) }

// Up reports whether the driver is (or is about to be) running.
func (s DriverState) Up() bool { return s == DriverStarting || s == DriverRunning }

// The ways an agent runs drivers, as Capabilities.Runtimes names them
// (SPEC §12): child processes, or OCI containers under runc — the one that
// isolates a driver's network and mounts.
const (
	DriverRuntimeProcess = "process"
	DriverRuntimeRunc    = "runc"
)

// AllDriverRuntimes lists the driver runtimes an agent may report.
var AllDriverRuntimes = []string{DriverRuntimeProcess, DriverRuntimeRunc}

// The cgroup versions through which a gateway enforces memory limits, as
// Capabilities.Cgroup names them; CgroupNone: it cannot.
const (
	CgroupNone = ""
	CgroupV1   = "v1"
	CgroupV2   = "v2"
)

// AllCgroupVersions lists what Capabilities.Cgroup may be.
var AllCgroupVersions = []string{CgroupNone, CgroupV1, CgroupV2}

// ResourceType is the kind of a deployment resource.
type ResourceType string

// Resource types.
const (
	ResourceDriver       ResourceType = "driver"
	ResourceDriverConfig ResourceType = "driver_config"
	ResourceDeviceConfig ResourceType = "device_config"
)

// AllResourceTypes lists the resource types in the order a deployment lists them.
var AllResourceTypes = []ResourceType{ResourceDriver, ResourceDriverConfig, ResourceDeviceConfig}

// Valid reports whether t is one of AllResourceTypes.
func (t ResourceType) Valid() bool { return slices.Contains(AllResourceTypes, t) }

// DeployType is what a deployment asks of a gateway.
type DeployType string

// Deployment types.
const (
	DeployTypeDeploy DeployType = "deploy" // run the drivers of the instance's snapshot
	DeployTypeReset  DeployType = "reset"  // stop and remove every driver
)

// DeployStatus is where a deployment, or one of its resources, stands.
type DeployStatus string

// Deployment statuses. A gateway reports pending, processing, succeeded or
// failed; the server alone supersedes and closes.
const (
	DeployPending    DeployStatus = "pending"
	DeployProcessing DeployStatus = "processing"
	DeploySucceeded  DeployStatus = "succeeded"
	DeployFailed     DeployStatus = "failed"
	DeploySuperseded DeployStatus = "superseded"
	DeployClosed     DeployStatus = "closed"
)

// Finished reports whether a deployment in status s can no longer change.
func (s DeployStatus) Finished() bool {
	switch s {
	case DeploySucceeded, DeployFailed, DeploySuperseded, DeployClosed:
		return true
	}
	return false
}

// Words joins a vocabulary for messages and help texts: "nodejs, python3, c, java".
func Words[T ~string](set []T) string {
	out := make([]string, len(set))
	for i, x := range set {
		out[i] = string(x)
	}
	return strings.Join(out, ", ")
}

// ProblemCode names why a deployment (or another compound action) cannot
// proceed. Clients switch on them; they are part of the API.
type ProblemCode string

// Problem codes of deployment checks (SPEC §5).
const (
	ProblemDriverConfigMissing ProblemCode = "driver_config_missing"
	ProblemDeviceConfigMissing ProblemCode = "device_config_missing"
	ProblemPackageMissing      ProblemCode = "package_missing"
	ProblemVersionMissing      ProblemCode = "version_missing"
	ProblemEdgeVersionTooOld   ProblemCode = "edge_version_too_old"
	ProblemArchMismatch        ProblemCode = "arch_mismatch"
	ProblemBuiltinMissing      ProblemCode = "builtin_missing"
	ProblemAcquisitionMissing  ProblemCode = "acquisition_missing"
	ProblemNoPublishedVersion  ProblemCode = "no_published_version"
	// ProblemIsolationUnavailable: the version's container settings need
	// isolation (a private network, port or volume mappings) that the
	// gateway cannot enforce (SPEC §12).
	ProblemIsolationUnavailable ProblemCode = "isolation_unavailable"
	// ProblemSignatureMissing: the tenant requires signed drivers and the
	// package is not a current target of its TUF repository (unsigned,
	// revoked, or signed with another length or SHA-256) (SPEC §11).
	ProblemSignatureMissing ProblemCode = "signature_missing"
)
