package driverrt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CheckReach says why u cannot search its way to path: the first
// directory on the way (path included when it is one) whose mode bits
// deny u search permission, or nil. It judges by owner, group (u's
// primary group: drivers have no other) and mode, not ACLs, so it only
// explains a refusal the kernel would make; root reaches everything.
func CheckReach(path string, u User) error {
	if u.UID == 0 {
		return nil
	}
	paths := []string{filepath.Clean(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != paths[0] {
		paths = append(paths, real)
	}
	for _, p := range paths {
		if err := checkPrefixes(p, u); err != nil {
			return err
		}
	}
	return nil
}

func checkPrefixes(p string, u User) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	prefix := "/"
	for i := 0; i <= len(parts); i++ {
		if i > 0 {
			if parts[i-1] == "" {
				continue
			}
			prefix = filepath.Join(prefix, parts[i-1])
		}
		var st syscall.Stat_t
		if err := syscall.Stat(prefix, &st); err != nil {
			return &os.PathError{Op: "stat", Path: prefix, Err: err}
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return nil
		}
		if !allows(&st, u, 1) {
			return fmt.Errorf("%s (mode %04o, owner %d:%d) is not searchable by uid %d", prefix, st.Mode&0o7777, st.Uid, st.Gid, u.UID)
		}
	}
	return nil
}

// CheckExec says why u cannot execute the file at path, or nil: a
// directory on the way it cannot search, or the file's mode.
func CheckExec(path string, u User) error {
	if err := CheckReach(filepath.Dir(path), u); err != nil {
		return err
	}
	if u.UID == 0 {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if !allows(&st, u, 1) {
		return fmt.Errorf("%s (mode %04o, owner %d:%d) is not executable by uid %d", path, st.Mode&0o7777, st.Uid, st.Gid, u.UID)
	}
	return nil
}

// allows reports whether the mode bits grant u the permission bit
// (4 read, 2 write, 1 execute/search).
func allows(st *syscall.Stat_t, u User, bit uint32) bool {
	switch {
	case st.Uid == u.UID:
		return st.Mode>>6&bit != 0
	case st.Gid == u.GID:
		return st.Mode>>3&bit != 0
	}
	return st.Mode&bit != 0
}
