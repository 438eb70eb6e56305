package service

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// validateCapabilities checks what a report says its gateway can enforce
// and the language runtimes it found (SPEC §12), and gives an absent list
// of runtimes its empty form.
func validateCapabilities(r *driverhub.GatewayReport) error {
	if c := r.Capabilities; c != nil {
		if c.Runtimes == nil {
			c.Runtimes = []string{}
		}
		for k, rt := range c.Runtimes {
			field := fmt.Sprintf("capabilities.runtimes[%d]", k)
			if !slices.Contains(driverhub.AllDriverRuntimes, rt) {
				return driverhub.Invalid(field, "must be one of %s", driverhub.Words(driverhub.AllDriverRuntimes))
			}
			if slices.Contains(c.Runtimes[:k], rt) {
				return driverhub.Invalid(field, "names %s a second time", rt)
			}
		}
		if !slices.Contains(driverhub.AllCgroupVersions, c.Cgroup) {
			return driverhub.Invalid("capabilities.cgroup", `must be %q, %q or "" (none)`, driverhub.CgroupV1, driverhub.CgroupV2)
		}
	}
	for _, rt := range slices.Sorted(maps.Keys(r.RuntimeVersions)) {
		field := "runtime_versions." + string(rt)
		if !rt.Valid() {
			return driverhub.Invalid(field, "is no runtime: must be one of %s", driverhub.Words(driverhub.AllRuntimes))
		}
		if v := r.RuntimeVersions[rt]; v == "" || len(v) > driverhub.MaxRuntimeVersionBytes || !printable(v) {
			return driverhub.Invalid(field, "must be 1-%d bytes of printable text", driverhub.MaxRuntimeVersionBytes)
		}
	}
	return nil
}

// printable reports whether s is UTF-8 without control, format (such as
// bidirectional overrides) or other unprintable characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// reportGatewayFacts copies onto g what a report says of its gateway.
// Fields left out keep what the server knew, but capabilities
// describe the agent that names its edge version: a report that names one
// without them comes from an agent that predates them, and clears them, so
// that a downgraded agent is never taken for one that enforces container
// settings.
func reportGatewayFacts(g *driverhub.Gateway, r *driverhub.GatewayReport) {
	if r.EdgeVersion != "" {
		g.EdgeVersion = r.EdgeVersion
	}
	if r.Arch != "" {
		g.Arch = r.Arch
	}
	if r.BuiltinDrivers != nil {
		g.BuiltinDrivers, g.BuiltinsReported = *r.BuiltinDrivers, true
	}
	if r.EdgeVersion != "" || r.Capabilities != nil {
		g.Capabilities = r.Capabilities
	}
	// Runtime versions only inform (the console's language list): a report
	// without them leaves them as they were, since an agent sends its first
	// reports before it has measured them.
	if r.RuntimeVersions != nil {
		g.RuntimeVersions = r.RuntimeVersions
	}
}

// sameFacts reports whether a and b say the same of their gateway, but
// for when it was last seen.
func sameFacts(a, b driverhub.Gateway) bool {
	a.LastSeenAt, b.LastSeenAt = nil, nil
	return reflect.DeepEqual(a, b)
}

// isolationProblem says why the gateway g cannot be trusted to enforce the
// container settings of version v of driver that need isolation, or ""
// when it can or none need it. A gateway that never said what it can
// enforce is refused too (docs/isolation.md): an agent older than SPEC §12
// would run the driver on the host network and file system.
func isolationProblem(problem problemf, res string, g *driverhub.Gateway, driver string, v *driverhub.DriverVersion) {
	needs := v.Container.NeedsIsolation()
	if len(needs) == 0 || (g.Capabilities != nil && g.Capabilities.Isolation) {
		return
	}
	for k, n := range needs {
		if n == "host_network" {
			needs[k] = "host_network false (a private network)"
		}
	}
	settings, code := strings.Join(needs, ", "), driverhub.ProblemIsolationUnavailable
	switch {
	case g.Capabilities != nil:
		runtimes := strings.Join(g.Capabilities.Runtimes, ", ")
		if runtimes == "" {
			runtimes = "none"
		}
		problem(res, code, "version %s of %s has container settings that need isolation: %s; the gateway cannot isolate drivers (its runtimes: %s): make runc work there, or bind a version with host_network true and no port or volume mappings",
			v.Version, driver, settings, runtimes)
	case g.EdgeVersion == "":
		problem(res, code, "version %s of %s has container settings that need isolation: %s; the gateway has not reported what it can enforce yet: start its agent, and deploy once the instance is online",
			v.Version, driver, settings)
	default:
		problem(res, code, "version %s of %s has container settings that need isolation: %s; the gateway's agent (edge version %s) does not report what it can enforce: upgrade it",
			v.Version, driver, settings, g.EdgeVersion)
	}
}
