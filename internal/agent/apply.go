package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// configFileName is where a driver finds its configuration JSON
// (DRIVERHUB_CONFIG), in its working directory so that a container sees it too.
const configFileName = ".driverhub-config.json"

// progress tracks a deployment's resources and reports each change.
type progress struct {
	a  *Agent
	mu sync.Mutex
	r  driverhub.DeploymentReport
}

func newProgress(a *Agent, m *driverhub.Manifest) *progress {
	p := &progress{a: a, r: driverhub.DeploymentReport{ID: m.DeploymentID, Status: driverhub.DeployProcessing}}
	for _, d := range m.Drivers {
		p.r.Resources = append(p.r.Resources, res("driver", d.Name), res("driver_config", d.Name))
		for _, dev := range d.RuntimeConfig.DeviceList {
			p.r.Resources = append(p.r.Resources, res("device_config", dev.ProductKey+"/"+dev.DeviceName))
		}
	}
	return p
}

func res(typ, name string) driverhub.Resource {
	return driverhub.Resource{Type: typ, Name: name, Stage: "init", Status: driverhub.DeployProcessing, Log: []driverhub.LogEntry{}}
}

// step records a resource's stage, status and a log line. Only the new log
// lines are sent: the server appends them.
func (p *progress) step(typ, name, stage, status, level, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.r.Resources {
		r := &p.r.Resources[i]
		if r.Type == typ && r.Name == name {
			r.Stage, r.Status = stage, status
			r.Log = append(r.Log, driverhub.LogEntry{Time: time.Now().UTC(), Level: level, Stage: stage, Message: fmt.Sprintf(format, args...)})
		}
	}
}

// driverStep applies a step to a driver and every resource that belongs to it.
func (p *progress) driverStep(md *driverhub.ManifestDriver, stage, status, level, format string, args ...any) {
	p.step("driver", md.Name, stage, status, level, format, args...)
	if status != driverhub.DeployProcessing {
		p.step("driver_config", md.Name, stage, status, level, "driver config: %s", fmt.Sprintf(format, args...))
		for _, dev := range md.RuntimeConfig.DeviceList {
			p.step("device_config", dev.ProductKey+"/"+dev.DeviceName, stage, status, level, "device config: %s", fmt.Sprintf(format, args...))
		}
	}
}

// send reports progress (best effort: the final report is retried by the report loop).
func (p *progress) send(ctx context.Context) {
	p.mu.Lock()
	r := p.r
	r.Resources = append([]driverhub.Resource(nil), p.r.Resources...)
	for i := range p.r.Resources {
		p.r.Resources[i].Log = p.r.Resources[i].Log[:0:0] // sent once; the server keeps them
	}
	p.mu.Unlock()
	if err := p.a.report(ctx, &r); err != nil {
		p.a.log.Warn("report deployment progress", "deployment", r.ID, "err", err)
	}
}

// apply makes the gateway run what the manifest says. Everything is
// downloaded, verified and unpacked before anything running is touched; a
// driver that fails to prepare keeps its running version; a new driver that
// does not stay up for HealthyAfter is rolled back to the version before.
func (a *Agent) apply(ctx context.Context, m *driverhub.Manifest, etag string) {
	a.log.Info("applying deployment", "deployment", m.DeploymentID, "type", m.Type, "drivers", len(m.Drivers))
	p := newProgress(a, m)
	p.send(ctx)
	failures := []string{}
	fail := func(md *driverhub.ManifestDriver, stage, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		failures = append(failures, md.Name+": "+msg)
		p.driverStep(md, stage, driverhub.DeployFailed, "error", "%s", msg)
	}

	prepared := map[string]*Installed{}
	if m.Type != driverhub.DeployTypeReset {
		for i := range m.Drivers {
			md := &m.Drivers[i]
			inst, stage, err := a.prepare(ctx, p, md)
			if err != nil {
				fail(md, stage, "%v", err)
				p.send(ctx)
				continue
			}
			prepared[md.Name] = inst
		}
	}

	a.mu.Lock()
	old := a.state.Drivers
	a.mu.Unlock()
	next := map[string]*Installed{}
	// Drivers that failed to prepare keep running as they were.
	for name, inst := range old {
		if _, wanted := prepared[name]; !wanted && inManifest(m, name) {
			next[name] = inst
		}
	}
	// Stop what is removed.
	for name := range old {
		if !inManifest(m, name) {
			a.stopDriver(name)
		}
	}
	// Start what is new or changed.
	started := map[string]*Installed{}
	for name, inst := range prepared {
		md := &inst.Manifest
		if prev, ok := old[name]; ok && sameDriver(prev, inst) && a.running(name) {
			next[name] = prev
			p.driverStep(md, "finish", driverhub.DeploySucceeded, "info", "unchanged: %s keeps running", md.Version)
			continue
		}
		a.stopDriver(name)
		p.driverStep(md, "start", driverhub.DeployProcessing, "info", "starting %s %s", name, md.Version)
		if err := a.startDriver(inst); err != nil {
			fail(md, "start", "start: %v", err)
			a.rollback(p, old[name], md, &next)
			continue
		}
		started[name] = inst
	}
	p.send(ctx)

	// Health: every new driver must stay up for HealthyAfter.
	type verdict struct {
		name   string
		ok     bool
		reason string
	}
	verdicts := make(chan verdict, len(started))
	for name := range started {
		a.mu.Lock()
		s := a.sups[name]
		a.mu.Unlock()
		go func() {
			ok, reason := s.healthy(a.cfg.HealthyAfter)
			verdicts <- verdict{name, ok, reason}
		}()
	}
	for range started {
		v := <-verdicts
		inst := started[v.name]
		md := &inst.Manifest
		if v.ok {
			next[v.name] = inst
			p.driverStep(md, "finish", driverhub.DeploySucceeded, "info", "%s %s is running", v.name, md.Version)
			continue
		}
		fail(md, "start", "did not stay up for %s (%s)", a.cfg.HealthyAfter, v.reason)
		a.stopDriver(v.name)
		a.rollback(p, old[v.name], md, &next)
	}

	if m.Type == driverhub.DeployTypeReset {
		a.removeAll(old)
	}
	p.mu.Lock()
	if len(failures) > 0 {
		p.r.Status, p.r.Reason = driverhub.DeployFailed, strings.Join(failures, "; ")
	} else {
		p.r.Status = driverhub.DeploySucceeded
	}
	final := p.r
	p.mu.Unlock()

	a.mu.Lock()
	a.state.Drivers, a.state.DeploymentID, a.state.ETag, a.state.Result = next, m.DeploymentID, etag, &final
	err := a.saveState(a.state)
	a.result = &final
	a.mu.Unlock()
	if err != nil {
		a.log.Error("save state", "err", err)
	}
	p.send(ctx)
	a.markDirty()
	a.log.Info("deployment applied", "deployment", m.DeploymentID, "status", final.Status, "reason", final.Reason)
}

// rollback restarts the version that ran before a failed one, if any.
func (a *Agent) rollback(p *progress, prev *Installed, md *driverhub.ManifestDriver, next *map[string]*Installed) {
	if prev == nil {
		p.driverStep(md, "start", driverhub.DeployFailed, "error", "no earlier version to roll back to: %s is stopped", md.Name)
		return
	}
	if err := a.startDriver(prev); err != nil {
		p.driverStep(md, "start", driverhub.DeployFailed, "error", "roll back to %s failed: %v", prev.Manifest.Version, err)
		return
	}
	(*next)[md.Name] = prev
	p.driverStep(md, "start", driverhub.DeployFailed, "warn", "rolled back to version %s", prev.Manifest.Version)
}

func inManifest(m *driverhub.Manifest, name string) bool {
	if m.Type == driverhub.DeployTypeReset {
		return false
	}
	for _, d := range m.Drivers {
		if d.Name == name {
			return true
		}
	}
	return false
}

// sameDriver reports whether two installs run identically: same package,
// config, devices and settings. Such a driver is not restarted.
func sameDriver(a, b *Installed) bool {
	ja, _ := json.Marshal(a.Manifest)
	jb, _ := json.Marshal(b.Manifest)
	return a.Dir == b.Dir && bytes.Equal(ja, jb)
}

func (a *Agent) running(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sups[name]
	return ok
}

// prepare checks, downloads, verifies and unpacks one driver, and fetches
// its config file. It returns the stage that failed with the error.
func (a *Agent) prepare(ctx context.Context, p *progress, md *driverhub.ManifestDriver) (*Installed, string, error) {
	if md.MinEdge != "" && driverhub.CompareEdgeVersions(driverhub.Version, md.MinEdge) < 0 {
		return nil, "init", fmt.Errorf("needs edge version %s or later; this agent is %s", md.MinEdge, driverhub.Version)
	}
	if md.Runtime == "c" && md.CPUArch != a.arch {
		return nil, "init", fmt.Errorf("built for %s; this gateway is %s", md.CPUArch, a.arch)
	}
	var dir string
	if md.Builtin {
		dir = filepath.Join(a.cfg.Dir, "builtin", md.Name)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return nil, "init", fmt.Errorf("built-in driver %s is not installed in %s", md.Name, dir)
		}
	} else {
		if md.Package == nil {
			return nil, "init", errors.New("the deployment names no package")
		}
		p.driverStep(md, "download", driverhub.DeployProcessing, "info", "downloading %d bytes", md.Package.Size)
		blob, err := a.fetch(ctx, md.Package)
		if err != nil {
			stage := "download"
			if isVerifyError(err) {
				stage = "verify"
			}
			return nil, stage, err
		}
		p.driverStep(md, "verify", driverhub.DeployProcessing, "info", "SHA-256 verified: %s", md.Package.SHA256)
		if err := configNamesFree(blob, md); err != nil {
			return nil, "unpack", err
		}
		dir = filepath.Join(a.cfg.Dir, "drivers", md.Name, md.Version+"-"+md.Package.SHA256[:12])
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			if err := unpack(blob, md.Runtime, dir); err != nil {
				return nil, "unpack", err
			}
		}
		p.driverStep(md, "unpack", driverhub.DeployProcessing, "info", "unpacked into %s", dir)
	}
	if md.ConfigFile != nil {
		if _, err := a.fetch(ctx, md.ConfigFile); err != nil {
			return nil, "download", fmt.Errorf("config file %s: %w", md.ConfigFile.Name, err)
		}
	}
	return &Installed{Manifest: *md, Dir: dir}, "", nil
}

// configNamesFree refuses a package holding a file where the agent writes
// the driver's configuration: the config would silently replace it.
func configNamesFree(blob string, md *driverhub.ManifestDriver) error {
	taken := map[string]bool{configFileName: true}
	if md.ConfigFile != nil {
		taken[md.ConfigFile.Name] = true
	}
	z, err := zip.OpenReader(blob)
	if err != nil {
		return err
	}
	defer z.Close()
	for _, f := range z.File {
		if name := strings.TrimSuffix(f.Name, "/"); taken[name] {
			return fmt.Errorf("the package holds %s, the name of the driver's config file: rename one of them", name)
		}
	}
	return nil
}

func unpack(blob, runtime, dir string) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return err
	}
	return zippkg.Unpack(f, info.Size(), runtime, zippkg.DefaultLimits(), dir)
}

// startDriver writes the driver's configuration and starts its supervisor.
func (a *Agent) startDriver(inst *Installed) error {
	md := &inst.Manifest
	spec, err := a.specFor(inst)
	if err != nil {
		return err
	}
	a.mu.Lock()
	l := a.logs[md.Name]
	a.mu.Unlock()
	if l == nil {
		if l, err = newDriverLog(filepath.Join(a.cfg.Dir, "logs"), md.Name); err != nil {
			return err
		}
	}
	s := startSupervisor(a.cfg.Runtime, realClock{}, spec, md.Version, l, a.markDirty)
	a.mu.Lock()
	a.logs[md.Name] = l
	a.sups[md.Name] = s
	a.mu.Unlock()
	return nil
}

// specFor builds the driver contract of SPEC §7: command per runtime,
// working directory, environment and config files.
func (a *Agent) specFor(inst *Installed) (driverrt.Spec, error) {
	md := &inst.Manifest
	cfg, err := json.Marshal(md.RuntimeConfig)
	if err != nil {
		return driverrt.Spec{}, err
	}
	cfgPath := filepath.Join(inst.Dir, configFileName)
	if err := writeFileAtomic(cfgPath, cfg, 0o644); err != nil {
		return driverrt.Spec{}, fmt.Errorf("write config: %w", err)
	}
	if md.ConfigFile != nil {
		if err := copyFile(filepath.Join(a.cfg.Dir, "cache", md.ConfigFile.SHA256), filepath.Join(inst.Dir, md.ConfigFile.Name)); err != nil {
			return driverrt.Spec{}, fmt.Errorf("write config file %s: %w", md.ConfigFile.Name, err)
		}
	}
	env := []string{"FUNCTION_ID=" + md.ID, "FUNCTION_NAME=" + md.Name, "FC_DRIVER_CONFIG=" + string(cfg), "DRIVERHUB_CONFIG=" + cfgPath}
	var cmd []string
	switch md.Runtime {
	case "c":
		cmd = []string{"./main"}
		env = append(env, "LD_LIBRARY_PATH=lib")
	case "nodejs":
		cmd = []string{"node", "index.js"}
	case "python3":
		cmd = []string{"python3", "index.py"}
	case "java":
		cmd = append(append([]string{"java"}, strings.Fields(md.JVMArgs)...), "-jar", "main.jar")
	default:
		return driverrt.Spec{}, fmt.Errorf("unknown runtime %q", md.Runtime)
	}
	stateDir := a.runtimeDir(md.Name)
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return driverrt.Spec{}, err
	}
	return driverrt.Spec{Name: md.Name, Dir: inst.Dir, Command: cmd, Env: env, Container: md.Container, StateDir: stateDir}, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(src, driverhub.MaxConfigFileBytes+1)); err != nil {
		return err
	}
	return writeFileAtomic(to, buf.Bytes(), 0o644)
}

// stopDriver stops a driver's supervisor, if it runs.
func (a *Agent) stopDriver(name string) {
	a.mu.Lock()
	s := a.sups[name]
	delete(a.sups, name)
	a.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// removeAll deletes the unpacked drivers of a reset, keeping the download cache.
func (a *Agent) removeAll(old map[string]*Installed) {
	for name, inst := range old {
		a.stopDriver(name)
		if !inst.Manifest.Builtin {
			os.RemoveAll(filepath.Join(a.cfg.Dir, "drivers", name))
		}
	}
}
