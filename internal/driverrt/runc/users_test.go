package runc_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/testenv"
)

// userDriver reports who it runs as, what it sees of /etc and of a mapped
// device, and what it may write.
const userDriver = `{
echo "id $(id -u) $(id -g) $(id -G) $(id -un)"
grep -E '^(NoNewPrivs|CapEff):' /proc/self/status
echo "etc $(ls /etc | tr '\n' ' ')"
if cat /etc/shadow >/dev/null 2>&1; then echo "shadow:readable"; fi
if [ -n "$DEV" ]; then
  if head -c 0 < "$DEV"; then echo "dev:r"; fi
  if echo x > "$DEV"; then echo "dev:w"; fi
fi
if echo x > own.txt; then echo "own:w"; fi
if echo x > /tmp/x; then echo "tmp:w"; fi
if echo x > /etc/x; then echo "etc:w"; fi
} > user.txt 2>/dev/null
`

// TestRunsAsDriverUser runs a container as the driver's own user: no
// capabilities, its own /etc naming it (never the host's shadow), a
// mapped device it may read but not write, its directory writable.
func TestRunsAsDriverUser(t *testing.T) {
	need(t)
	// A /dev/null twin only root may open on the host.
	dev := fmt.Sprintf("/dev/driverhub-user-probe-%d", os.Getpid())
	if err := unix.Mknod(dev, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
		testenv.Require(t, "cannot make a device node: "+err.Error())
	}
	t.Cleanup(func() { os.Remove(dev) })
	e := newEnv(t)
	s := e.spec("rctUser", map[string]string{"run.sh": userDriver}, "sh", "run.sh")
	u := driverrt.User{UID: 61998, GID: 61998, Name: "dh-rctUser", Group: "driverhub-driver"}
	s.User = &u
	if err := os.Chown(s.Dir, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	s.Env = append(s.Env, "DEV="+dev)
	s.Container.DeviceMappings = []driverhub.DeviceMapping{{HostPath: dev, Permission: "ro"}}
	p, out := e.start(s)
	if ex := waitExit(t, p, 30*time.Second); ex.Code != 0 {
		t.Fatalf("exit %v: %s", ex, out)
	}
	got := strings.Split(waitFile(t, filepath.Join(s.Dir, "user.txt"), 5*time.Second), "\n")
	for _, want := range []string{"id 61998 61998 61998 dh-rctUser", "NoNewPrivs:\t1", "CapEff:\t0000000000000000",
		"dev:r", "own:w", "tmp:w"} {
		if !slices.Contains(got, want) {
			t.Errorf("the container reports %q, want %q among it", got, want)
		}
	}
	for _, unwanted := range []string{"shadow:readable", "dev:w", "etc:w"} {
		if slices.Contains(got, unwanted) {
			t.Errorf("the container reports %q", unwanted)
		}
	}
	for _, line := range got {
		if etc, ok := strings.CutPrefix(line, "etc "); ok {
			for _, name := range []string{"shadow", "gshadow", "sudoers", "driverhub", "ssh"} {
				if slices.Contains(strings.Fields(etc), name) {
					t.Errorf("the container's /etc holds the host's %s: %s", name, etc)
				}
			}
			if !slices.Contains(strings.Fields(etc), "passwd") {
				t.Errorf("the container's /etc has no passwd: %s", etc)
			}
		}
	}
}

// TestRootOnlyWhenPrivileged refuses a spec that runs an unprivileged
// container as root.
func TestRootOnlyWhenPrivileged(t *testing.T) {
	need(t)
	e := newEnv(t)
	s := e.spec("rctRoot", nil, "sh", "-c", "true")
	root := driverrt.Root
	s.User = &root
	if _, err := e.rt.Start(s, nil, nil); err == nil || !strings.Contains(err.Error(), "only a privileged driver runs as root") {
		t.Errorf("Start: %v", err)
	}
}
