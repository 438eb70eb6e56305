package process

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt"
)

// startProcess starts the driver; with no_new_privs, from a thread of its
// own that sets the flag first: the flag is per thread and inherited by
// the child, and cannot be unset, so the thread is never unlocked and Go
// ends it when the goroutine returns. The agent keeps its privileges.
func startProcess(l *launch, attr *os.ProcAttr) (*os.Process, error) {
	if !l.noNewPrivs {
		return os.StartProcess(l.path, l.argv, attr)
	}
	type result struct {
		p   *os.Process
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			done <- result{nil, fmt.Errorf("no_new_privs: %w", err)}
			return
		}
		p, err := os.StartProcess(l.path, l.argv, attr)
		done <- result{p, err}
	}()
	r := <-done
	return r.p, r.err
}

// driverEnv is the spec's environment, a later KEY=VALUE replacing an
// earlier one. Nothing of the agent's own environment is added.
func driverEnv(pairs []string) []string {
	env := make([]string, 0, len(pairs))
	index := map[string]int{}
	for _, kv := range pairs {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if i, seen := index[k]; seen {
			env[i] = kv
			continue
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	return env
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// defaultPath is what shells search when PATH is unset.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolveCommand finds argv[0] like a shell: a name with a slash is a path
// (relative to dir), any other name is searched in PATH. With a user, a
// candidate that user cannot execute is passed over, and named when no
// other is found.
func resolveCommand(name, dir, path string, u *driverrt.User) (string, error) {
	usable := func(p string) error {
		if err := executable(p); err != nil {
			return err
		}
		if u != nil {
			return driverrt.CheckExec(p, *u)
		}
		return nil
	}
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := usable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	if path == "" {
		path = defaultPath
	}
	var denied error
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		if executable(p) != nil {
			continue
		}
		err := usable(p)
		if err == nil {
			return p, nil
		}
		if denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", fmt.Errorf("%s: none on PATH that uid %d may run (%w): install the runtime where every user can run it", name, u.UID, denied)
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s: not executable", p)
	}
	return nil
}
