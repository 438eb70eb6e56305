package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/driverhub/driverhub/internal/driverrt"
)

// The agent's directory (SPEC §12: a driver reads neither the agent's
// state nor its cache, nor another driver's directory or log):
//
//	DIR/                 0711 root: drivers pass through to their own directory
//	  state.json         0600
//	  driver-uids.json   0600: the drivers' uids (users.go)
//	  cache/             0700: downloads
//	  logs/              0700: <name>.log, owned by the driver, 0600
//	  runtime/<name>/    0700: the runtime's state (Spec.StateDir), unpacking
//	  drivers/           0711
//	    <name>/          0700, the driver's: its versions, unpacked into
//	      <version>-<sha>/  its working directory, the driver's own
//	  builtin/<name>/    the gateway maker's, run in place, read-only to it
//
// The agent, root, never follows a path through a directory a driver
// owns: such directories are entered through an os.Root.
var dirModes = map[string]os.FileMode{"cache": 0o700, "logs": 0o700, "runtime": 0o700, "drivers": 0o711, "builtin": 0o711}

// makeDirs creates the agent's directories, or tightens their modes.
func makeDirs(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	for d, mode := range dirModes {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, mode); err != nil {
			return err
		}
		if d == "builtin" {
			continue // its maker's to set
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) runtimeDir(name string) string { return filepath.Join(a.cfg.Dir, "runtime", name) }

func (a *Agent) driverDir(name string) string { return filepath.Join(a.cfg.Dir, "drivers", name) }

// ensureDriverDir makes DIR/drivers/<name>, the driver's. Its path is the
// agent's up to <name>, which only the agent can replace.
func (a *Agent) ensureDriverDir(name string, u *driverrt.User) error {
	dir := a.driverDir(name)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if u != nil {
		if err := os.Lchown(dir, int(u.UID), int(u.GID)); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o700)
}

// placeUnpacked unpacks a package for the driver and returns its working
// directory: DIR/drivers/<name>/<leaf>. It is unpacked where only the agent
// writes, given to the driver there, then moved in place; a version
// unpacked before is reused once it is the driver's.
func (a *Agent) placeUnpacked(name, leaf string, u *driverrt.User, unpackTo func(dir string) error) (string, error) {
	dir := filepath.Join(a.driverDir(name), leaf)
	if reused, err := a.ownWorkDir(name, leaf, u); err != nil || reused {
		return dir, err
	}
	stage := filepath.Join(a.runtimeDir(name), "unpack")
	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	tmp := filepath.Join(stage, leaf)
	if err := unpackTo(tmp); err != nil {
		return "", err
	}
	lchown := func(p string, uid, gid int) error { return os.Lchown(filepath.Join(stage, p), uid, gid) }
	chmod := func(p string, m os.FileMode) error { return os.Chmod(filepath.Join(stage, p), m) }
	if err := ownTree(os.DirFS(stage), leaf, lchown, chmod, u); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(a.driverDir(name))
	if err != nil {
		return "", err
	}
	defer root.Close()
	_ = root.RemoveAll(leaf) // a file the driver put there
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// ownWorkDir makes an unpacked version, if there is one, the driver's
// again when it is another user's (unpacked before the driver had its own
// uid, or for another one: the range or --driver-user changed). It
// reports whether the version is there.
func (a *Agent) ownWorkDir(name, leaf string, u *driverrt.User) (bool, error) {
	root, err := os.OpenRoot(a.driverDir(name))
	if err != nil {
		return false, err
	}
	defer root.Close()
	info, err := root.Lstat(leaf)
	if err != nil || !info.IsDir() {
		return false, nil
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && u != nil && st.Uid != u.UID {
		if err := ownTree(root.FS(), leaf, root.Lchown, root.Chmod, u); err != nil {
			return true, err
		}
	}
	return true, nil
}

// ownTree gives a tree to the user, owner-only: directories 0700, files
// their owner's bits of the package's mode. Symlinks are not followed.
func ownTree(fsys fs.FS, top string, lchown func(string, int, int) error, chmod func(string, os.FileMode) error, u *driverrt.User) error {
	return fs.WalkDir(fsys, top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if u != nil {
			if err := lchown(p, int(u.UID), int(u.GID)); err != nil {
				return err
			}
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil
		case d.IsDir():
			return chmod(p, 0o700)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return chmod(p, info.Mode().Perm()&0o700|0o400)
	})
}

// writeDriverFile writes a file into a driver's working directory,
// replacing what is there, owned by the driver, 0600. The working
// directory's parent is the agent's (drivers/<name>, builtin) and the
// write goes through an os.Root there: a symlink the driver made cannot
// send it elsewhere.
func writeDriverFile(workDir, name string, data []byte, u *driverrt.User) error {
	root, err := os.OpenRoot(filepath.Dir(workDir))
	if err != nil {
		return err
	}
	defer root.Close()
	var rnd [8]byte
	rand.Read(rnd[:])
	leaf := filepath.Base(workDir)
	tmp := path.Join(leaf, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	_, err = f.Write(data)
	if err == nil && u != nil {
		err = f.Chown(int(u.UID), int(u.GID))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Rename(tmp, path.Join(leaf, name))
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
