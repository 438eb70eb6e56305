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
		if err := ownLog(l.path, spec.User); err != nil {
			l.close()
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

// ownLog gives the driver's log to the driver, 0600, in a directory only
// the agent enters.
func ownLog(path string, u *driverrt.User) error {
	if u != nil {
		if err := os.Chown(path, int(u.UID), int(u.GID)); err != nil {
			return err
		}
	}
	return os.Chmod(path, 0o600)
}

// specFor builds the driver contract of SPEC §7: command per runtime,
// working directory, environment and config files, and the user it runs
// as (SPEC §12).
func (a *Agent) specFor(inst *Installed) (driverrt.Spec, error) {
	md := &inst.Manifest
	argv, runtimeEnv, ok := driverhub.Runtime(md.Runtime).Command(md.JVMArgs)
	if !ok {
		return driverrt.Spec{}, fmt.Errorf("unknown runtime %q", md.Runtime)
	}
	u, err := a.ids.userFor(md.Name, md.Container.Privileged)
	if err != nil {
		return driverrt.Spec{}, err
	}
	if !md.Builtin && filepath.Dir(inst.Dir) == a.driverDir(md.Name) {
		// Its directory may be another user's: that of an earlier agent, or
		// of a version run as root before a rollback.
		if err := a.ensureDriverDir(md.Name, u); err != nil {
			return driverrt.Spec{}, err
		}
		if _, err := a.ownWorkDir(md.Name, filepath.Base(inst.Dir), u); err != nil {
			return driverrt.Spec{}, err
		}
	}
	cfg, err := json.Marshal(md.RuntimeConfig)
	if err != nil {
		return driverrt.Spec{}, err
	}
	if err := writeDriverFile(inst.Dir, configFileName, cfg, u); err != nil {
		return driverrt.Spec{}, fmt.Errorf("write config: %w", err)
	}
	if md.ConfigFile != nil {
		data, err := readCached(filepath.Join(a.cfg.Dir, "cache", md.ConfigFile.SHA256))
		if err == nil {
			err = writeDriverFile(inst.Dir, md.ConfigFile.Name, data, u)
		}
		if err != nil {
			return driverrt.Spec{}, fmt.Errorf("write config file %s: %w", md.ConfigFile.Name, err)
		}
	}
	env := []string{"FUNCTION_ID=" + md.ID, "FUNCTION_NAME=" + md.Name, "FC_DRIVER_CONFIG=" + string(cfg),
		"DRIVERHUB_CONFIG=" + filepath.Join(inst.Dir, configFileName)}
	env = append(append(baseEnv(inst.Dir), env...), runtimeEnv...)
	stateDir := a.runtimeDir(md.Name)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return driverrt.Spec{}, err
	}
	return driverrt.Spec{Name: md.Name, Dir: inst.Dir, Command: argv, Env: env, Container: md.Container,
		StateDir: stateDir, User: u}, nil
}

// baseEnv is what a driver gets of the agent's environment: PATH and LANG
// only, and its working directory as HOME. Nothing else of the agent's
// (its secret above all) reaches a driver.
func baseEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, k := range []string{"PATH", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// readCached reads a config file from the download cache.
func readCached(path string) ([]byte, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(src, driverhub.MaxConfigFileBytes+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
