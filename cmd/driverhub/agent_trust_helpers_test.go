package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/driverhub/driverhub/internal/testenv"
)

// Helpers of the trust tests (SPEC §12): drivers run as their own users.

const driverGroupName = "driverhub-driver"

// driverGroup counts the tests whose agents give drivers their own uids:
// the first makes sure the group exists, and when the test process made
// it, the last one to finish removes it.
var driverGroup struct {
	sync.Mutex
	users   int
	created bool
}

// prepareDriverUsers readies a test agent's directory for drivers that run
// as their own users, when the test runs as root: the group exists, and
// the temporary directory above the agent's is searchable (os.MkdirTemp
// makes it 0700; a gateway's /var/lib is 0755).
func prepareDriverUsers(t testing.TB, agentDir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if err := os.Chmod(filepath.Dir(agentDir), 0o711); err != nil {
		t.Fatal(err)
	}
	driverGroup.Lock()
	defer driverGroup.Unlock()
	if _, ok := groupGID(t, driverGroupName); !ok {
		testenv.Command(t, "groupadd")
		if out, err := exec.Command("groupadd", "--system", driverGroupName).CombinedOutput(); err != nil {
			if _, ok := groupGID(t, driverGroupName); !ok { // not made meanwhile by another test process
				t.Fatalf("groupadd --system %s: %v: %s", driverGroupName, err, out)
			}
		} else {
			driverGroup.created = true
		}
	}
	driverGroup.users++
	t.Cleanup(func() {
		driverGroup.Lock()
		defer driverGroup.Unlock()
		if driverGroup.users--; driverGroup.users == 0 && driverGroup.created {
			if out, err := exec.Command("groupdel", driverGroupName).CombinedOutput(); err != nil {
				t.Logf("groupdel %s: %v: %s", driverGroupName, err, out)
			}
			driverGroup.created = false
		}
	})
}

// groupGID finds a group in /etc/group.
func groupGID(t testing.TB, name string) (int, bool) {
	t.Helper()
	f, err := os.Open("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), ":"); len(fields) >= 3 && fields[0] == name {
			gid, err := strconv.Atoi(fields[2])
			return gid, err == nil
		}
	}
	return 0, false
}

// trustReport is what the hostile driver (testdata/drivers/hostile) wrote:
// one line per attempt, DENIED or ALLOWED, then who it ran as.
type trustReport struct {
	attempts map[string]string // attempt → "DENIED: why" or "ALLOWED: what"
	allowed  []string
	id       map[string]string // uid, gid, groups, nnp, capeff
	pid      int
}

func readTrustReport(path string) (*trustReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &trustReport{attempts: map[string]string{}, id: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		verdict, rest, _ := strings.Cut(line, " ")
		switch verdict {
		case "DENIED", "ALLOWED":
			name, why, _ := strings.Cut(rest, ": ")
			r.attempts[name] = verdict + ": " + why
			if verdict == "ALLOWED" {
				r.allowed = append(r.allowed, line)
			}
		case "id":
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				r.id[k] = v
			}
		case "pid":
			r.pid, _ = strconv.Atoi(rest)
		default:
			return nil, fmt.Errorf("%s: unexpected line %q", path, line)
		}
	}
	if r.pid == 0 {
		return nil, fmt.Errorf("%s: not finished", path)
	}
	return r, nil
}

// workDir is the driver's working directory: its one unpacked version.
func (e *e2e) workDir(t testing.TB, driver string) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(e.agentDir, "drivers", driver, "*", ".driverhub-config.json"))
	if len(dirs) != 1 {
		t.Fatalf("%s has %d unpacked versions with a config, want 1: %v", driver, len(dirs), dirs)
	}
	return filepath.Dir(dirs[0])
}

// waitTrustReport waits until the hostile driver's report satisfies cond.
func (e *e2e) waitTrustReport(t testing.TB, driver, what string, cond func(*trustReport) bool) *trustReport {
	t.Helper()
	var r *trustReport
	eventually(t, reportWait, driver+"'s trust report: "+what, func() (bool, string) {
		paths, _ := filepath.Glob(filepath.Join(e.agentDir, "drivers", driver, "*", "trust-report.txt"))
		if len(paths) != 1 {
			return false, fmt.Sprintf("%d reports", len(paths))
		}
		var err error
		if r, err = readTrustReport(paths[0]); err != nil {
			return false, err.Error()
		}
		return cond(r), fmt.Sprintf("pid %d, id %v", r.pid, r.id)
	})
	return r
}

// owner is a file's owner, group and permission bits.
type owner struct {
	uid, gid int
	perm     os.FileMode
}

func ownerOf(t testing.TB, path string) owner {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return owner{int(st.Uid), int(st.Gid), fi.Mode().Perm()}
}

func (o owner) String() string { return fmt.Sprintf("%d:%d %04o", o.uid, o.gid, o.perm) }
