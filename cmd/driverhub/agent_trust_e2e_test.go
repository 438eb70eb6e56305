package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/testenv"
)

// The trust tests (SPEC §12): a hostile driver, run by a real agent, tries
// to read the gateway secret, the agent's state and cache, /etc/shadow and
// another driver's files and process, and to write outside its directory.
// Every attempt must be denied, under both runtimes.

// hostileAttempts are the attempts the hostile driver reports when its
// config names the agent, the secret file and a victim.
var hostileAttempts = []string{
	"agent secret via /proc/<ppid>/environ", "/proc/<agent>/environ", "/proc/<agent>/cwd", "the secret file",
	"/etc/shadow", "the agent's state", "the drivers' uids",
	"list the agent's cache/", "list the agent's logs/", "list the agent's runtime/", "list the agent's drivers/",
	"list the victim's directory", "the victim's log", "write into the victim's directory",
	"the victim's report", "the victim's config", "/proc/<victim>/environ", "/proc/<victim>/cwd", "signal the victim",
}

// hostileWrites counts the hostile driver's writes outside its directory.
const hostileWrites = 5

// trustSetup runs a victim and a hostile driver, and a privileged one, on
// an agent whose gateway secret is in a root-only file as the install
// guide keeps it; it returns the hostile driver's report.
type trustSetup struct {
	e                           *e2e
	victim, hostile, privileged string
	victimPid                   int
}

func newTrustSetup(t *testing.T, runtime string) *trustSetup {
	t.Helper()
	testenv.Root(t, "drivers run as their own users only under a root agent")
	e := newE2E(t, runtime)
	secretDir := t.TempDir() // 0700, as /etc/driverhub is
	secretFile := filepath.Join(secretDir, "gateway-secret")
	if err := os.WriteFile(secretFile, []byte(e.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.agent.stop(t)
	e.args = append(e.args, "--secret-file", secretFile)
	e.agent = e.startAgent()
	if runtime == "runc" {
		time.Sleep(time.Second)
		if out := e.agent.out.String(); e.agent.exited() && strings.Contains(out, "cannot run drivers here") {
			testenv.Require(t, "the agent refused --runtime runc here: "+lastLines(out, 1))
		}
	}
	// Names of their own: the tests of both runtimes run at once on one host.
	rt := runtime[:1]
	s := &trustSetup{e: e, victim: driverName("victim" + rt), hostile: driverName("hostile" + rt), privileged: driverName("root" + rt)}

	// The victim: the sample driver, writing its report in its own directory.
	e.createDriver(s.victim, "python3")
	e.addVersion(s.victim, "1.0", samplePackage(t, "python3", "1.0"), map[string]any{"driver_config": map[string]any{
		"format": "kv", "kv": []any{map[string]any{"key": "out", "value": "report.txt", "note": ""}}}})
	e.bind(s.victim, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	eventually(t, reportWait, "the victim reports", func() (bool, string) {
		_, err := readReport(filepath.Join(e.workDir(t, s.victim), "report.txt"))
		return err == nil, ""
	})
	eventually(t, reportWait, "the victim's process", func() (bool, string) {
		pids := driverPython(s.victim)
		if len(pids) != 1 {
			return false, fmt.Sprintf("processes %v", pids)
		}
		s.victimPid = pids[0]
		return true, ""
	})

	hostile := zipOf(t, zipEntry{name: "index.py", data: readFile(t, filepath.Join("testdata", "drivers", "hostile", "index.py"))})
	e.createDriver(s.hostile, "python3")
	e.addVersion(s.hostile, "1.0", hostile, map[string]any{"driver_config": map[string]any{"format": "json", "json": map[string]any{
		"agent_pid": e.agent.cmd.Process.Pid, "secret_file": secretFile,
		"victim": s.victim, "victim_pid": s.victimPid, "victim_dir": e.workDir(t, s.victim)}}})
	e.bind(s.hostile, "1.0")
	e.createDriver(s.privileged, "python3")
	e.addVersion(s.privileged, "1.0", hostile, map[string]any{"container": map[string]any{"privileged": true},
		"driver_config": map[string]any{"format": "json", "json": map[string]any{"identity_only": true}}})
	e.bind(s.privileged, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	return s
}

// driverPython finds a python driver's process on the host by its
// environment: in a container its pid is another.
func driverPython(driver string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		argv := strings.Fields(cmdline(pid))
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && len(argv) > 0 && strings.HasPrefix(filepath.Base(argv[0]), "python") &&
			slices.Contains(strings.Split(string(env), "\x00"), "FUNCTION_NAME="+driver) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// checkAllDenied asserts the hostile driver tried everything and got
// nothing.
func checkAllDenied(t *testing.T, r *trustReport) {
	t.Helper()
	for name, verdict := range r.attempts {
		t.Logf("%s: %s", name, verdict)
	}
	for _, line := range r.allowed {
		t.Errorf("the hostile driver: %s", line)
	}
	writes := 0
	for name, verdict := range r.attempts {
		if strings.HasPrefix(name, "write /") && strings.HasPrefix(verdict, "DENIED") {
			writes++
		}
	}
	for _, name := range hostileAttempts {
		if v, ok := r.attempts[name]; !ok || !strings.HasPrefix(v, "DENIED") {
			t.Errorf("attempt %q: %q, want DENIED", name, v)
		}
	}
	if writes != hostileWrites {
		t.Errorf("%d writes outside its directory denied, want %d: %v", writes, hostileWrites, r.attempts)
	}
}

// checkOwnUser asserts the hostile driver ran as its own unprivileged user
// in the drivers' group, with nothing more.
func checkOwnUser(t *testing.T, s *trustSetup, r *trustReport) int {
	t.Helper()
	uid, _ := strconv.Atoi(r.id["uid"])
	gid, _ := groupGID(t, driverGroupName)
	if uid < 61184 || uid > 65519 || r.id["gid"] != strconv.Itoa(gid) || r.id["groups"] != "-" {
		t.Errorf("the driver ran as %v, want a uid of 61184-65519, gid %d (%s) and no other group", r.id, gid, driverGroupName)
	}
	if r.id["nnp"] != "1" || strings.Trim(r.id["capeff"], "0") != "" {
		t.Errorf("the driver has no_new_privs %s and capabilities %s, want 1 and none", r.id["nnp"], r.id["capeff"])
	}
	e := s.e
	work := e.workDir(t, s.hostile)
	for _, c := range []struct {
		path string
		want owner
	}{
		{filepath.Join(e.agentDir, "drivers", s.hostile), owner{uid, gid, 0o700}},
		{work, owner{uid, gid, 0o700}},
		{filepath.Join(work, ".driverhub-config.json"), owner{uid, gid, 0o600}},
		{filepath.Join(e.agentDir, "logs", s.hostile+".log"), owner{uid, gid, 0o600}},
		{e.agentDir, owner{0, 0, 0o711}},
		{filepath.Join(e.agentDir, "drivers"), owner{0, 0, 0o711}},
		{filepath.Join(e.agentDir, "state.json"), owner{0, 0, 0o600}},
		{filepath.Join(e.agentDir, "driver-uids.json"), owner{0, 0, 0o600}},
	} {
		if got := ownerOf(t, c.path); got != c.want {
			t.Errorf("%s is %s, want %s", c.path, got, c.want)
		}
	}
	for _, d := range []string{"cache", "logs", "runtime"} {
		if got := ownerOf(t, filepath.Join(e.agentDir, d)); got.uid != 0 || got.perm != 0o700 {
			t.Errorf("the agent's %s/ is %s, want root's, 0700", d, got)
		}
	}
	if victim := ownerOf(t, e.workDir(t, s.victim)); victim.uid == uid || victim.uid < 61184 {
		t.Errorf("the victim runs as uid %d, the hostile driver as %d: want two uids of the range", victim.uid, uid)
	}
	return uid
}

// checkPrivileged asserts the privileged driver ran as root.
func checkPrivileged(t *testing.T, s *trustSetup) {
	t.Helper()
	r := s.e.waitTrustReport(t, s.privileged, "written", func(*trustReport) bool { return true })
	if r.id["uid"] != "0" || r.id["gid"] != "0" {
		t.Errorf("the privileged driver ran as %v, want uid 0", r.id)
	}
}

// TestAgentTrustProcess runs the hostile driver with the process runtime,
// then restarts the agent: each driver keeps its uid.
func TestAgentTrustProcess(t *testing.T) {
	t.Parallel()
	s := newTrustSetup(t, "process")
	r := s.e.waitTrustReport(t, s.hostile, "written", func(*trustReport) bool { return true })
	checkAllDenied(t, r)
	uid := checkOwnUser(t, s, r)
	checkPrivileged(t, s)

	s.e.agent.kill(t)
	s.e.agent = s.e.startAgent()
	again := s.e.waitTrustReport(t, s.hostile, "rerun by the restarted agent", func(n *trustReport) bool { return n.pid != r.pid })
	if again.id["uid"] != strconv.Itoa(uid) {
		t.Errorf("after the agent's restart the driver runs as uid %s, before as %d", again.id["uid"], uid)
	}
	checkAllDenied(t, again)
}

// TestAgentTrustRunc runs the hostile driver as an OCI container.
func TestAgentTrustRunc(t *testing.T) {
	t.Parallel()
	requireTools(t, "runc")
	s := newTrustSetup(t, "runc")
	r := s.e.waitTrustReport(t, s.hostile, "written", func(*trustReport) bool { return true })
	checkAllDenied(t, r)
	checkOwnUser(t, s, r)
	checkPrivileged(t, s)
}

// TestAgentDriverUser runs every driver as nobody (--driver-user).
func TestAgentDriverUser(t *testing.T) {
	t.Parallel()
	testenv.Root(t, "--driver-user needs a root agent")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Require(t, "no user nobody: "+err.Error())
	}
	e := newE2E(t, "process", "--driver-user", "nobody")
	name := driverName("asnobody")
	e.createDriver(name, "python3")
	e.addVersion(name, "1.0", zipOf(t, zipEntry{name: "index.py", data: readFile(t, filepath.Join("testdata", "drivers", "hostile", "index.py"))}),
		map[string]any{"driver_config": map[string]any{"format": "json", "json": map[string]any{"agent_pid": e.agent.cmd.Process.Pid}}})
	e.bind(name, "1.0")
	mustSucceed(t, e.deploy("deploy"))
	r := e.waitTrustReport(t, name, "written", func(*trustReport) bool { return true })
	if r.id["uid"] != nobody.Uid || r.id["gid"] != nobody.Gid {
		t.Errorf("the driver ran as %v, want nobody (%s:%s)", r.id, nobody.Uid, nobody.Gid)
	}
	for _, line := range r.allowed {
		t.Errorf("the driver run as nobody: %s", line)
	}
}

// TestAgentRefusesDriverUsersItCannotGive starts agents whose drivers
// could not get their own users: each refuses to start, saying why.
func TestAgentRefusesDriverUsersItCannotGive(t *testing.T) {
	t.Parallel()
	testenv.Root(t, "the agent checks its drivers' users only as root")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--driver-uids", "61184"}, `--driver-uids "61184": want FIRST-LAST`},
		{[]string{"--driver-uids", "1-999"}, "--driver-uids 1-999 holds the uids of users in /etc/passwd: "},
		{[]string{"--driver-user", "root"}, "--driver-user root is root"},
		{[]string{"--driver-user", "nobody", "--driver-uids", "70000-70010"}, "--driver-uids and --driver-user exclude each other"},
	} {
		dir := filepath.Join(t.TempDir(), "agent")
		prepareDriverUsers(t, dir)
		if out, err := runRefusedAgent(dir, tc.args...); err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("agent %v: %v\n%s\nwant a refusal saying %q", tc.args, err, out, tc.want)
		}
	}
	// The directories the drivers pass through must be searchable by them.
	dir := filepath.Join(t.TempDir(), "agent")
	prepareDriverUsers(t, filepath.Join(t.TempDir(), "x")) // the group, without opening dir's parent
	if out, err := runRefusedAgent(dir); err == nil || !strings.Contains(out, "drivers cannot reach their directories in "+dir) ||
		!strings.Contains(out, "chmod o+x") {
		t.Errorf("agent with its directory under a 0700 one: %v\n%s", err, out)
	}
}

// runRefusedAgent runs an agent that should refuse to start, and kills it
// if it does not end.
func runRefusedAgent(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"agent", "--server", "http://127.0.0.1:9", "--dir", dir}, args...)...)
	cmd.Env = append(os.Environ(), "DRIVERHUB_GATEWAY_SECRET=dhg_test")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
