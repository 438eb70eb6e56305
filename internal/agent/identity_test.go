package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/testenv"
)

func newUsersAgent(t *testing.T, dir string, users *DriverUsers) (*Agent, error) {
	t.Helper()
	return New(Config{Server: "http://127.0.0.1:9", Secret: "test-secret", Dir: dir, Runtime: newFakeRuntime(), DriverUsers: users})
}

// TestNewRefusesDriverUsersItCannotGive: a root agent whose drivers could
// not have their own users refuses to start, saying what to do.
func TestNewRefusesDriverUsersItCannotGive(t *testing.T) {
	testenv.Root(t, "drivers get their own users only from a root agent")
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // os.MkdirTemp makes them 0700
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	// A group groupadd cannot make: the agent refuses, saying what to do.
	_, err := newUsersAgent(t, filepath.Join(base, "a"), &DriverUsers{Group: "no:such-group"})
	if err == nil || !strings.Contains(err.Error(), `group no:such-group does not exist and groupadd --system no:such-group failed`) ||
		!strings.Contains(err.Error(), "--driver-user") {
		t.Errorf("New without the group, groupadd refusing: %v", err)
	}
	// A missing group it can make: created, as the systemd unit would.
	if _, found, _ := readGroup("dh-test-drivers"); found {
		t.Fatal("group dh-test-drivers exists before the test")
	}
	t.Cleanup(func() { exec.Command("groupdel", "dh-test-drivers").Run() })
	created, err := newUsersAgent(t, filepath.Join(base, "made"), &DriverUsers{Group: "dh-test-drivers"})
	if err != nil {
		t.Fatalf("New without the group: %v", err)
	}
	if _, found, _ := readGroup("dh-test-drivers"); !found || !created.OwnUIDs() {
		t.Errorf("New without the group: group created %v, own uids %v", found, created.OwnUIDs())
	}

	closed := filepath.Join(base, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	// Group root stands for the drivers' group: it exists everywhere.
	_, err = newUsersAgent(t, filepath.Join(closed, "agent"), &DriverUsers{Group: "root"})
	if err == nil || !strings.Contains(err.Error(), closed+" (mode 0700, owner 0:0) is not searchable by uid 61184") {
		t.Errorf("New under a directory drivers cannot pass: %v", err)
	}

	a, err := newUsersAgent(t, filepath.Join(base, "open"), &DriverUsers{Group: "root"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if !a.OwnUIDs() {
		t.Error("OwnUIDs is false for an agent that gives drivers their own uids")
	}
	for d, want := range map[string]os.FileMode{"": 0o711, "cache": 0o700, "logs": 0o700, "runtime": 0o700, "drivers": 0o711} {
		if fi, err := os.Stat(filepath.Join(base, "open", d)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("the agent's %q directory: %v %v, want mode %04o", d, fi.Mode(), err, want)
		}
	}

	shared, err := newUsersAgent(t, filepath.Join(base, "shared"), &DriverUsers{User: "nobody"})
	if err != nil {
		t.Fatalf("New with --driver-user nobody: %v", err)
	}
	if shared.OwnUIDs() {
		t.Error("OwnUIDs is true when every driver runs as nobody")
	}
}
