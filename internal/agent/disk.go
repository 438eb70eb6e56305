package agent

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/driverhub/driverhub"
)

// The agent keeps on disk only what runs and the version before it
// (SPEC §12): unpacked directories, cached packages and config files, and
// the logs of drivers still deployed. cleanDisk runs once the state that
// no longer names a file is saved, so a crash at any point leaves every
// file the saved state needs. Directories are renamed aside before they
// are deleted: a half-deleted version is never mistaken for an unpacked one.

// trashPrefix marks a directory being deleted; unpackMark one zippkg was
// unpacking (both left over by a crash).
const (
	trashPrefix = ".trash-"
	unpackMark  = ".unpack-"
)

// versionDirPattern names an unpacked version: <version>-<12 hex digits>.
var versionDirPattern = regexp.MustCompile(`^.+-[0-9a-f]{12}$`)

// diskKeep is what the saved state needs.
type diskKeep struct {
	names map[string]bool // drivers whose directory and logs stay
	dirs  map[string]bool // unpacked versions, by path
	blobs map[string]bool // cache entries, by file name
	parts bool            // keep every partial download (the manifest is unknown)
}

// cleanDisk deletes what the state no longer needs; m is the deployment
// just applied (nil when resuming), whose partial downloads stay, to be
// resumed when it is tried again.
func (a *Agent) cleanDisk(m *driverhub.Manifest) {
	a.mu.Lock()
	keep := keepOf(a.state, m)
	var logs []*driverLog
	for name, l := range a.logs {
		if _, runs := a.sups[name]; !keep.names[name] && !runs {
			logs = append(logs, l)
			delete(a.logs, name)
		}
	}
	a.mu.Unlock()
	for _, l := range logs {
		if err := l.remove(); err != nil {
			a.log.Warn("remove the log of a removed driver", "err", err)
		}
	}
	a.cleanDrivers(keep)
	a.cleanEntries(filepath.Join(a.cfg.Dir, "cache"), func(name string) bool {
		return keep.blobs[name] || keep.parts && strings.HasSuffix(name, ".part")
	})
	a.cleanEntries(filepath.Join(a.cfg.Dir, "logs"), func(name string) bool {
		return keep.names[strings.TrimSuffix(strings.TrimRight(name, "0123456789."), ".log")]
	})
	a.forgetRemoved(keep)
}

// forgetRemoved drops what the agent kept for drivers no longer deployed:
// their runtime state, the config written into a built-in driver's
// directory, and then their uid, once nothing of them is left.
func (a *Agent) forgetRemoved(keep diskKeep) {
	runtimes, _ := os.ReadDir(filepath.Join(a.cfg.Dir, "runtime"))
	for _, e := range runtimes {
		if e.IsDir() && !keep.names[e.Name()] {
			a.removeDir(filepath.Join(a.cfg.Dir, "runtime", e.Name()))
		}
	}
	builtins, _ := os.ReadDir(filepath.Join(a.cfg.Dir, "builtin"))
	for _, e := range builtins {
		if e.IsDir() && !keep.names[e.Name()] {
			if root, err := os.OpenRoot(filepath.Join(a.cfg.Dir, "builtin", e.Name())); err == nil {
				if err := ignoreMissing(root.Remove(configFileName)); err != nil {
					a.log.Warn("remove a built-in driver's config", "driver", e.Name(), "err", err)
				}
				root.Close()
			}
		}
	}
	a.releaseUnused()
}

func keepOf(st *State, m *driverhub.Manifest) diskKeep {
	k := diskKeep{names: map[string]bool{}, dirs: map[string]bool{}, blobs: map[string]bool{}, parts: m == nil}
	for _, installs := range []map[string]*Installed{st.Drivers, st.Previous} {
		for _, inst := range installs {
			k.names[inst.Manifest.Name] = true
			k.dirs[inst.Dir] = true
			for _, b := range []*driverhub.BlobLink{inst.Manifest.Package, inst.Manifest.ConfigFile} {
				if b != nil {
					k.blobs[b.SHA256] = true
				}
			}
		}
	}
	for name := range st.Failed {
		k.names[name] = true
	}
	if m != nil {
		for _, md := range m.Drivers {
			for _, b := range []*driverhub.BlobLink{md.Package, md.ConfigFile} {
				if b != nil {
					k.blobs[b.SHA256+".part"] = true
				}
			}
		}
	}
	return k
}

// cleanDrivers removes the directories of drivers no longer deployed and,
// of the others, the unpacked versions not kept.
func (a *Agent) cleanDrivers(keep diskKeep) {
	root := filepath.Join(a.cfg.Dir, "drivers")
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), ".") || !keep.names[e.Name()] {
			a.removeDir(dir)
			continue
		}
		versions, _ := os.ReadDir(dir)
		for _, v := range versions {
			p := filepath.Join(dir, v.Name())
			leftover := strings.HasPrefix(v.Name(), trashPrefix) || strings.Contains(v.Name(), unpackMark)
			if v.IsDir() && (leftover || versionDirPattern.MatchString(v.Name()) && !keep.dirs[p]) {
				a.removeDir(p)
			}
		}
	}
}

// removeDir renames dir aside, then deletes it.
func (a *Agent) removeDir(dir string) {
	base := filepath.Base(dir)
	if !strings.HasPrefix(base, trashPrefix) {
		aside := filepath.Join(filepath.Dir(dir), trashPrefix+base)
		if err := os.Rename(dir, aside); err != nil {
			a.log.Warn("remove an unused directory", "dir", dir, "err", err)
			return
		}
		dir = aside
	}
	if err := os.RemoveAll(dir); err != nil {
		a.log.Warn("remove an unused directory", "dir", dir, "err", err)
	}
}

// cleanEntries deletes the files of dir that keep refuses.
func (a *Agent) cleanEntries(dir string, keep func(name string) bool) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && !keep(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				a.log.Warn("remove an unused file", "file", e.Name(), "err", err)
			}
		}
	}
}
