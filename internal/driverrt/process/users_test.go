package process_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/process"
	"github.com/driverhub/driverhub/internal/testenv"
)

// driverUser is an unprivileged uid no user of a test machine has.
var driverUser = driverrt.User{UID: 61999, GID: 61999, Name: "dh-test", Group: "dh-test"}

// userSpec is newSpec for a driver run as u: its directory is its own,
// and the test's temporary directory above it searchable.
func userSpec(t *testing.T, u driverrt.User, command ...string) driverrt.Spec {
	t.Helper()
	testenv.Root(t, "switching users")
	spec := newSpec(t, command...)
	if err := os.Chmod(filepath.Dir(spec.Dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(spec.Dir, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	spec.User = &u
	return spec
}

const identityScript = `{ echo "$(id -u) $(id -g) $(id -G)"; grep -E '^(NoNewPrivs|CapEff):' /proc/self/status; } > id.txt`

func TestRunsAsItsUserWithNothingMore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		user       driverrt.User
		privileged bool
		want       []string // lines of id.txt
	}{
		{"own uid", driverUser, false, []string{"61999 61999 61999", "NoNewPrivs:\t1", "CapEff:\t0000000000000000"}},
		{"privileged", driverrt.Root, true, []string{"0 0 0", "NoNewPrivs:\t0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := userSpec(t, tc.user, "/bin/sh", "-c", identityScript)
			spec.Container.Privileged = tc.privileged
			rt := process.New(process.Options{Logger: quiet()})
			if e := wait(t, start(t, rt, spec, io.Discard, io.Discard), 20*time.Second); e != (driverrt.Exit{}) {
				t.Fatalf("exit = %v, want status 0", e)
			}
			got := strings.Split(waitFile(t, filepath.Join(spec.Dir, "id.txt")), "\n")
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("the driver ran as %q, want %q among it (uid gid groups, no_new_privs, capabilities)", got, w)
				}
			}
		})
	}
}

func TestRootOnlyWhenPrivileged(t *testing.T) {
	spec := userSpec(t, driverrt.Root, "/bin/true")
	_, err := process.New(process.Options{Logger: quiet()}).Start(spec, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "only a privileged driver runs as root") {
		t.Errorf("Start as root without privileged: %v", err)
	}
}

// TestCommandTheUserCannotRun puts the only python3 on PATH in a directory
// the driver's user cannot enter, as a version manager under /root does.
func TestCommandTheUserCannotRun(t *testing.T) {
	spec := userSpec(t, driverUser, "tool")
	base := t.TempDir()
	os.Chmod(base, 0o711)
	hidden := filepath.Join(base, "hidden")
	if err := os.MkdirAll(filepath.Join(hidden, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(hidden, 0o700)
	if err := os.WriteFile(filepath.Join(hidden, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec.Env = []string{"PATH=" + filepath.Join(hidden, "bin")}
	_, err := process.New(process.Options{Logger: quiet()}).Start(spec, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "none on PATH that uid 61999 may run") ||
		!strings.Contains(err.Error(), hidden+" (mode 0700, owner 0:0) is not searchable by uid 61999") {
		t.Errorf("Start: %v", err)
	}
}

func TestRefusesWhatItCannotEnforce(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*driverhub.Container)
		want string
	}{
		{"private network", func(c *driverhub.Container) { c.HostNetwork = false }, "a private network (host_network false)"},
		{"port mappings", func(c *driverhub.Container) {
			c.HostNetwork = false
			c.PortMappings = []driverhub.PortMapping{{HostPort: 5020, ContainerPort: 502, Protocol: "tcp"}}
		}, "port_mappings"},
		{"volume mappings", func(c *driverhub.Container) {
			c.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/srv", ContainerPath: "/data", Permission: "ro"}}
		}, "the process runtime cannot enforce volume_mappings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec(t, "/bin/true")
			tc.set(&spec.Container)
			rt := process.New(process.Options{Logger: quiet()})
			_, err := rt.Start(spec, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--runtime runc") {
				t.Errorf("Start: %v, want a refusal naming %q", err, tc.want)
			}
			if cerr := rt.CheckContainer(spec.Container); cerr == nil {
				t.Error("CheckContainer accepts it")
			}
		})
	}
}

// TestDeviceMappingsByACL maps one of two device nodes the driver's user
// may not open: it opens the listed one only, and only while it runs.
func TestDeviceMappingsByACL(t *testing.T) {
	testenv.Root(t, "device nodes")
	devs := t.TempDir()
	os.Chmod(devs, 0o711)
	listed, other := filepath.Join(devs, "listed"), filepath.Join(devs, "other")
	for _, p := range []string{listed, other} {
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil { // a /dev/null twin
			testenv.Require(t, "cannot make a device node here: "+err.Error())
		}
	}
	spec := userSpec(t, driverUser, "/bin/sh", "-c",
		`for d in "$LISTED" "$OTHER"; do if echo x > "$d"; then echo "$d:w"; fi; if read x < "$d"; then :; fi; done > dev.txt 2>/dev/null; echo end >> dev.txt; exec sleep 300`)
	spec.Env = []string{"LISTED=" + listed, "OTHER=" + other, "PATH=/usr/bin:/bin"}
	spec.Container.DeviceMappings = []driverhub.DeviceMapping{{HostPath: listed, Permission: "rw"}}
	p := start(t, process.New(process.Options{Logger: quiet()}), spec, io.Discard, io.Discard)
	// The script writes its findings, then "end": read once it has.
	got := waitFile(t, filepath.Join(spec.Dir, "dev.txt"))
	for deadline := time.Now().Add(20 * time.Second); !strings.HasSuffix(got, "end\n") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		got = waitFile(t, filepath.Join(spec.Dir, "dev.txt"))
	}
	if got != listed+":w\nend\n" {
		t.Errorf("the driver wrote to %q, want only the listed device", got)
	}
	if _, err := unix.Getxattr(listed, "system.posix_acl_access", make([]byte, 256)); err != nil {
		t.Errorf("the listed device has no ACL while the driver runs: %v", err)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	wait(t, p, 10*time.Second)
	if _, err := unix.Getxattr(listed, "system.posix_acl_access", make([]byte, 256)); !errors.Is(err, unix.ENODATA) {
		t.Errorf("after the driver stopped the device's ACL is still there (%v)", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(listed, &st); err != nil || st.Mode&0o777 != 0o600 {
		t.Errorf("after the driver stopped the device's mode is %04o, want its 0600 back", st.Mode&0o777)
	}
}
