package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/driverhub/driverhub"
)

// State is what the agent has applied, kept in DIR/state.json. It is
// written atomically (temporary file, fsync, rename, fsync of the
// directory), so a crash leaves the old state or the new one.
type State struct {
	// DeploymentID and ETag name the last deployment applied ("" before any).
	DeploymentID string `json:"deployment_id"`
	ETag         string `json:"etag"`
	// Result is the last deployment's outcome, resent after a restart in
	// case the server never heard it.
	Result *driverhub.DeploymentReport `json:"result,omitempty"`
	// Drivers are the drivers that should be running, by name.
	Drivers map[string]*Installed `json:"drivers"`
	// Previous holds, by name, the version each driver ran before the one
	// it runs: kept on disk to roll back to, and nothing older (SPEC §12).
	Previous map[string]*Installed `json:"previous,omitempty"`
	// Failed are the drivers of the last deployment that failed to start
	// with no earlier version to run instead: reported as failed.
	Failed map[string]driverhub.DriverReport `json:"failed,omitempty"`
}

// Installed is one driver as it runs on the gateway.
type Installed struct {
	Manifest driverhub.ManifestDriver `json:"manifest"`
	// Dir is the working directory: the unpacked package or the built-in driver's directory.
	Dir string `json:"dir"`
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.Dir, "state.json") }

func (a *Agent) loadState() (*State, error) {
	s := &State{Drivers: map[string]*Installed{}}
	b, err := os.ReadFile(a.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", a.statePath(), err)
	}
	if s.Drivers == nil {
		s.Drivers = map[string]*Installed{}
	}
	return s, nil
}

func (a *Agent) saveState(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(a.statePath(), b, 0o600)
}

// writeFileAtomic replaces path with data so that a crash leaves either
// the old file or the new one, whole.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
