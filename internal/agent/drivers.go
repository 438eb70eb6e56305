package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
)

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
	s := startSupervisor(a.cfg.Runtime, a.clock, spec, md.Version, l, a.markDirty)
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
	argv, runtimeEnv, ok := driverhub.Runtime(md.Runtime).Command(md.JVMArgs)
	if !ok {
		return driverrt.Spec{}, fmt.Errorf("unknown runtime %q", md.Runtime)
	}
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
	env = append(env, runtimeEnv...)
	stateDir := a.runtimeDir(md.Name)
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return driverrt.Spec{}, err
	}
	return driverrt.Spec{Name: md.Name, Dir: inst.Dir, Command: argv, Env: env, Container: md.Container, StateDir: stateDir}, nil
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

func (a *Agent) running(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sups[name]
	return ok
}

// sameDriver reports whether two installs run identically: same package,
// config, devices and settings. Such a driver is not restarted.
func sameDriver(a, b *Installed) bool {
	ja, _ := json.Marshal(a.Manifest)
	jb, _ := json.Marshal(b.Manifest)
	return a.Dir == b.Dir && bytes.Equal(ja, jb)
}
