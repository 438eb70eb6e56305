package agent

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/testenv"
)

// checkingRuntime is the fake runtime of a gateway that cannot isolate:
// it refuses volume mappings, as the process runtime does.
type checkingRuntime struct{ *fakeRuntime }

func (checkingRuntime) CheckContainer(c driverhub.Container) error {
	if len(c.VolumeMappings) > 0 {
		return errors.New("the fake runtime cannot enforce volume_mappings")
	}
	return nil
}

// newUsersTestAgent is newTestAgent as root, giving drivers their own
// uids; group root stands for driverhub-driver, which exists everywhere.
func newUsersTestAgent(t *testing.T, rt driverrt.Runtime) *testAgent {
	t.Helper()
	testenv.Root(t, "drivers get their own users only from a root agent")
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // os.MkdirTemp makes them 0700
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	gw := newTestGateway(t)
	a, err := New(Config{Server: gw.srv.URL, Secret: "test-secret", Dir: dir, Runtime: rt, HealthyAfter: healthyAfter,
		Logger: slog.New(slog.DiscardHandler), DriverUsers: &DriverUsers{Group: "root"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.state, err = a.loadState(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stopAll() })
	fake, _ := rt.(*fakeRuntime)
	if c, ok := rt.(checkingRuntime); ok {
		fake = c.fakeRuntime
	}
	return &testAgent{Agent: a, rt: fake, gw: gw}
}

func TestApplyRefusesSettingsTheRuntimeCannotEnforce(t *testing.T) {
	ta := newUsersTestAgent(t, checkingRuntime{newFakeRuntime()})
	md := driverOf("vol", "1.0.0", ta.gw.pkg(t, "up"))
	md.Container = driverhub.DefaultContainer()
	md.Container.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/srv", ContainerPath: "/data", Permission: "ro"}}
	ta.deploy("d1", md)
	checkDeployment(t, ta.gw, "d1", driverhub.DeployFailed, "cannot enforce volume_mappings",
		failed("vol", driverhub.StageInit, "the fake runtime cannot enforce volume_mappings")...)
	if len(ta.rt.starts) != 0 {
		t.Errorf("the runtime was asked to start %d drivers", len(ta.rt.starts))
	}
}

// TestDriversGetTheirOwnUsersAndFiles deploys two drivers and a privileged
// one and checks whom each runs as, what it owns and what it inherits.
func TestDriversGetTheirOwnUsersAndFiles(t *testing.T) {
	t.Setenv("DRIVERHUB_GATEWAY_SECRET", "agent-secret")
	ta := newUsersTestAgent(t, newFakeRuntime())
	priv := driverOf("priv", "1.0.0", ta.gw.pkg(t, "up"))
	priv.Container.Privileged = true
	ta.deploy("d1", driverOf("one", "1.0.0", ta.gw.pkg(t, "up")), driverOf("two", "1.0.0", ta.gw.pkg(t, "up", "extra.txt", "another package")), priv)
	checkDeployment(t, ta.gw, "d1", driverhub.DeploySucceeded, "",
		slices.Concat(succeeded("one"), succeeded("two"), succeeded("priv"))...)

	specs := map[string]driverrt.Spec{}
	for _, s := range ta.rt.starts {
		specs[s.Name] = s
	}
	one, two := specs["one"].User, specs["two"].User
	if one == nil || two == nil || one.UID == two.UID || one.UID < 61184 || two.UID > 65519 || one.GID != 0 {
		t.Fatalf("drivers run as %+v and %+v, want two uids of the range in the group", one, two)
	}
	if u := specs["priv"].User; u == nil || u.UID != 0 {
		t.Errorf("the privileged driver runs as %+v, want root", u)
	}
	for _, kv := range specs["one"].Env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"PATH", "LANG", "HOME", "FUNCTION_ID", "FUNCTION_NAME", "FC_DRIVER_CONFIG", "DRIVERHUB_CONFIG"}, k) {
			t.Errorf("the driver's environment holds %s", kv)
		}
	}
	if !slices.Contains(specs["one"].Env, "HOME="+specs["one"].Dir) {
		t.Errorf("the driver's HOME is not its working directory: %v", specs["one"].Env)
	}
	for _, c := range []struct {
		path string
		uid  uint32
		perm os.FileMode
	}{
		{filepath.Join(ta.cfg.Dir, "drivers", "one"), one.UID, 0o700},
		{specs["one"].Dir, one.UID, 0o700},
		{filepath.Join(specs["one"].Dir, configFileName), one.UID, 0o600},
		{filepath.Join(specs["one"].Dir, fakeBehaviourFile), one.UID, 0o600},
		{filepath.Join(ta.cfg.Dir, "logs", "one.log"), one.UID, 0o600},
		{specs["one"].StateDir, 0, 0o700},
	} {
		fi, err := os.Lstat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != c.uid || fi.Mode().Perm() != c.perm {
			t.Errorf("%s: uid %d mode %04o, want uid %d mode %04o", c.path, uid, fi.Mode().Perm(), c.uid, c.perm)
		}
	}

	// A reset removes them, and frees their uids.
	ta.apply(t.Context(), &driverhub.Manifest{DeploymentID: "d2", Type: driverhub.DeployTypeReset}, "etag-d2")
	if names := ta.ids.alloc.names(); len(names) != 0 {
		t.Errorf("after a reset uids are still held for %v", names)
	}
	for _, name := range []string{"one", "two", "priv"} {
		for _, d := range []string{"drivers", "runtime"} {
			if _, err := os.Lstat(filepath.Join(ta.cfg.Dir, d, name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after a reset %s/%s remains (%v)", d, name, err)
			}
		}
	}
}

// TestDriverSymlinksDoNotLeadTheAgentOut: a driver owns its directory and
// may fill it with symlinks to the host's files; the agent, root, writing
// the driver's config at its next start, writes none of them.
func TestDriverSymlinksDoNotLeadTheAgentOut(t *testing.T) {
	ta := newUsersTestAgent(t, newFakeRuntime())
	ta.deploy("d1", driverOf("sly", "1.0.0", ta.gw.pkg(t, "up")))
	spec := ta.rt.starts[0]
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The config file, a symlink to a host file; the working directory's
	// parent has a symlink standing for the next version's directory.
	cfg := filepath.Join(spec.Dir, configFileName)
	os.Remove(cfg)
	if err := os.Symlink(outside, cfg); err != nil {
		t.Fatal(err)
	}
	ta.stopDriver("sly")
	if err := ta.startDriver(ta.state.Drivers["sly"]); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "host file" {
		t.Errorf("the agent wrote through the driver's symlink: %q", b)
	}
	if fi, err := os.Lstat(cfg); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the config is %v (%v), want a regular file replacing the symlink", fi.Mode(), err)
	}

	// The working directory itself replaced by a symlink to a host directory.
	hostDir := t.TempDir()
	ta.stopDriver("sly")
	if err := os.Rename(spec.Dir, spec.Dir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostDir, spec.Dir); err != nil {
		t.Fatal(err)
	}
	err := ta.startDriver(ta.state.Drivers["sly"])
	if entries, _ := os.ReadDir(hostDir); len(entries) != 0 {
		t.Errorf("the agent wrote into the host directory the driver's symlink named: %v (start: %v)", entries, err)
	}
}

// TestEarlierAgentsFilesAreGivenToTheDriver: an agent from before drivers
// had their own users left a version unpacked as root's; started again,
// the driver gets it.
func TestEarlierAgentsFilesAreGivenToTheDriver(t *testing.T) {
	ta := newUsersTestAgent(t, newFakeRuntime())
	ta.deploy("d1", driverOf("old", "1.0.0", ta.gw.pkg(t, "up")))
	spec := ta.rt.starts[0]
	ta.stopDriver("old")
	driverDir := filepath.Join(ta.cfg.Dir, "drivers", "old")
	err := filepath.Walk(driverDir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, 0, 0)
		}
		return err
	})
	if err != nil || os.Chmod(driverDir, 0o750) != nil {
		t.Fatal(err)
	}
	if err := ta.startDriver(ta.state.Drivers["old"]); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{driverDir, spec.Dir, filepath.Join(spec.Dir, fakeBehaviourFile)} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != spec.User.UID {
			t.Errorf("%s belongs to uid %d, want the driver's %d", p, uid, spec.User.UID)
		}
	}
}
