package runc_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/driverrt/runc"
	"github.com/driverhub/driverhub/internal/testenv"
)

func TestCheck(t *testing.T) {
	err := runc.New(runc.Options{Runc: "no-such-runc-binary"}).Check()
	want := "runc not found on PATH: install the runc package (apt-get install runc)"
	if err == nil || err.Error() != want {
		t.Fatalf("Check with no runc = %v, want %q", err, want)
	}
	if runc.New(runc.Options{}).Name() != "runc" {
		t.Fatal("Name is not runc")
	}
	need(t)
	if err := runc.New(runc.Options{}).Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

const envDriver = `import json, os, subprocess, sys
def tryw(p):
    try:
        with open(p, "w") as f:
            f.write("x")
        return "ok"
    except OSError as e:
        return "err: " + str(e.strerror)
r = {"env": dict(os.environ), "cwd": os.getcwd(),
     "uid": subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip(),
     "usr": tryw("/usr/dh_probe"), "etc": tryw("/etc/dh_probe"), "tmp": tryw("/tmp/probe"),
     "ro_content": open("/data/ro/hello.txt").read(), "ro_write": tryw("/data/ro/new.txt"),
     "rw_write": tryw("/data/rw/new.txt"), "config": open(os.environ["DRIVERHUB_CONFIG"]).read()}
with open("out.json", "w") as f:
    f.write(json.dumps(r) + "\n")
print("hello from the driver", flush=True)
sys.exit(3)
`

func TestEnvFilesystemVolumes(t *testing.T) {
	needPython(t)
	e := newEnv(t)
	s := e.spec("rctEnv", map[string]string{"index.py": envDriver, "config.json": `{"config":{}}`}, "python3", "index.py")
	roVol, rwVol := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(roVol, "hello.txt"), []byte("read me"), 0o644)
	s.Env = append(s.Env, "DRIVERHUB_CONFIG="+filepath.Join(s.Dir, "config.json"))
	s.Container.VolumeMappings = []driverhub.VolumeMapping{
		{HostPath: roVol, ContainerPath: "/data/ro", Permission: "ro"},
		{HostPath: rwVol, ContainerPath: "/data/rw", Permission: "rw"},
	}
	p, out := e.start(s)
	if p.Pid() <= 0 {
		t.Fatalf("Pid = %d", p.Pid())
	}
	ex := waitExit(t, p, 60*time.Second)
	if ex.Code != 3 || ex.OOM || ex.Signal != "" || ex.Err != nil {
		t.Fatalf("exit = %+v (%s), want status 3; output: %s", ex, ex, out)
	}
	if !strings.Contains(out.String(), "hello from the driver") {
		t.Errorf("output %q lacks the driver's line", out)
	}
	var r struct {
		Env                             map[string]string
		Cwd, UID, Usr, Etc, Tmp, Config string
		RoContent                       string `json:"ro_content"`
		RoWrite                         string `json:"ro_write"`
		RwWrite                         string `json:"rw_write"`
	}
	readJSON(t, filepath.Join(s.Dir, "out.json"), &r)
	if r.Cwd != s.Dir || r.UID != "0" {
		t.Errorf("cwd %q uid %q, want %q and 0", r.Cwd, r.UID, s.Dir)
	}
	if r.Env["FUNCTION_NAME"] != "rctEnv" || r.Env["HOME"] == "" || r.Env["LANG"] == "" || r.Env["PATH"] == "" {
		t.Errorf("env = %v", r.Env)
	}
	if r.Config != `{"config":{}}` {
		t.Errorf("DRIVERHUB_CONFIG content %q", r.Config)
	}
	if r.Usr == "ok" || r.Etc == "ok" {
		os.Remove("/usr/dh_probe")
		os.Remove("/etc/dh_probe")
		t.Errorf("/usr or /etc writable inside: %q %q", r.Usr, r.Etc)
	}
	if r.Tmp != "ok" {
		t.Errorf("/tmp not writable: %s", r.Tmp)
	}
	if r.RoContent != "read me" || r.RoWrite == "ok" || r.RwWrite != "ok" {
		t.Errorf("volumes: ro content %q, ro write %q, rw write %q", r.RoContent, r.RoWrite, r.RwWrite)
	}
	if b, err := os.ReadFile(filepath.Join(rwVol, "new.txt")); err != nil || string(b) != "x" {
		t.Errorf("rw volume write not on the host: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(roVol, "new.txt")); err == nil {
		t.Error("ro volume written")
	}
	if fi, err := os.Lstat("/bin"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		want, _ := os.Readlink("/bin")
		if got, err := os.Readlink(filepath.Join(s.StateDir, "bundle/rootfs/bin")); err != nil || got != want {
			t.Errorf("rootfs/bin -> %q (%v), want a symlink to %q", got, err, want)
		}
	}
	if o, err := e.runc("state", "dh-"+driverrt.UnitName(s.Name, s.StateDir)); err == nil {
		t.Errorf("container not deleted after exit: %s", o)
	}
}

func TestStartRefusals(t *testing.T) {
	need(t)
	e := newEnv(t)
	s := e.spec("rctRefuse", nil, "sh", "-c", "true")
	s.Container.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/no/such/dir", ContainerPath: "/data", Permission: "ro"}}
	if _, err := e.rt.Start(s, nil, nil); err == nil || !strings.Contains(err.Error(), "/no/such/dir") {
		t.Errorf("missing volume: %v", err)
	}
	s.Container.VolumeMappings = nil
	s.Container.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/no_such_device", Permission: "rw"}}
	if _, err := e.rt.Start(s, nil, nil); err == nil || !strings.Contains(err.Error(), "/dev/no_such_device") {
		t.Errorf("missing device: %v", err)
	}
	s.Container.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/etc/passwd", Permission: "rw"}}
	if _, err := e.rt.Start(s, nil, nil); err == nil || !strings.Contains(err.Error(), "not a device") {
		t.Errorf("non-device: %v", err)
	}
	s.Container.DeviceMappings = nil
	s.Command = []string{"no-such-interpreter", "x"}
	if _, err := e.rt.Start(s, nil, nil); err == nil {
		t.Error("unknown command started")
	}
}

// netDriver tries the test's host listener, records the result, then
// echoes on 127.0.0.1:<port> over tcp and udp.
const netDriver = `import socket, sys, threading
port, echo = int(sys.argv[1]), int(sys.argv[2])
try:
    c = socket.create_connection(("127.0.0.1", port), timeout=3)
    res = "reached:" + c.recv(16).decode()
except OSError as e:
    res = "failed: " + str(e)
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", echo)); s.listen(8)
    while True:
        c, _ = s.accept()
        c.sendall(c.recv(1024)); c.close()
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", echo))
    while True:
        d, a = s.recvfrom(1024); s.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
open("net.txt", "w").write(res + "\n")
threading.Event().wait()
`

func hostListener(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHostNetwork(t *testing.T) {
	needPython(t)
	e := newEnv(t)
	port := hostListener(t)
	s := e.spec("rctHostNet", map[string]string{"index.py": netDriver}, "python3", "index.py", strconv.Itoa(port), strconv.Itoa(freePort(t)))
	e.start(s)
	if got := waitFile(t, filepath.Join(s.Dir, "net.txt"), 30*time.Second); got != "reached:hi\n" {
		t.Fatalf("host network: %q", got)
	}
}

func TestPrivateNetworkPortMappings(t *testing.T) {
	needPython(t)
	e := newEnv(t)
	port := hostListener(t)
	hostPort := freePort(t)
	s := e.spec("rctPrivNet", map[string]string{"index.py": netDriver}, "python3", "index.py", strconv.Itoa(port), "7001")
	s.Container.HostNetwork = false
	s.Container.PortMappings = []driverhub.PortMapping{
		{HostPort: hostPort, ContainerPort: 7001, Protocol: "tcp"},
		{HostPort: hostPort, ContainerPort: 7001, Protocol: "udp"},
	}
	p, out := e.start(s)
	if got := waitFile(t, filepath.Join(s.Dir, "net.txt"), 30*time.Second); !strings.HasPrefix(got, "failed") {
		t.Fatalf("private network reached the host's loopback: %q", got)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := exchange("tcp", addr, "ping-tcp")
		if err == nil && got == "ping-tcp" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcp echo through host port: %q %v; output %s", got, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		got, err := exchange("udp", addr, "ping-udp")
		if err == nil && got == "ping-udp" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("udp echo through host port: %q %v", got, err)
		}
	}
	// A driver without a SIGTERM handler ends on Stop's SIGTERM.
	start := time.Now()
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	ex := waitExit(t, p, 30*time.Second)
	if ex.Signal != "SIGTERM" || time.Since(start) > 10*time.Second {
		t.Errorf("after Stop: %+v in %v, want SIGTERM promptly", ex, time.Since(start))
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("host port still held after the driver ended: %v", err)
	}
	ln.Close()
}

func exchange(network, addr, msg string) (string, error) {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

const devDriver = `r=""
if echo x > /dev/null; then r="$r null:rw"; fi
if [ -n "$LOOP" ]; then
  if [ -b "$LOOP" ]; then r="$r loop:present"; fi
  if dd if="$LOOP" of=/dev/null count=0 2>/dev/null; then r="$r loop:r"; fi
  if dd if=/dev/zero of="$LOOP" count=0 conv=notrunc 2>/dev/null; then r="$r loop:w"; fi
fi
for d in $PROBE; do if [ -e "$d" ]; then r="$r sees:$d"; fi; done
echo "$r" > dev.txt
`

func TestDeviceMappings(t *testing.T) {
	need(t)
	e := newEnv(t)
	s := e.spec("rctDev", map[string]string{"run.sh": devDriver}, "sh", "run.sh")
	s.Container.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/null", Permission: "rw"}}
	want := " null:rw"
	if fi, err := os.Stat("/dev/loop7"); err == nil && fi.Mode()&os.ModeDevice != 0 {
		s.Container.DeviceMappings = append(s.Container.DeviceMappings, driverhub.DeviceMapping{HostPath: "/dev/loop7", Permission: "ro"})
		s.Env = append(s.Env, "LOOP=/dev/loop7")
		want += " loop:present loop:r"
	}
	p, _ := e.start(s)
	if ex := waitExit(t, p, 30*time.Second); ex.Code != 0 {
		t.Fatalf("exit %v", ex)
	}
	if got := strings.TrimSuffix(waitFile(t, filepath.Join(s.Dir, "dev.txt"), 5*time.Second), "\n"); got != want {
		t.Errorf("devices: %q, want %q", got, want)
	}
}

// hostDevice is a host device no unprivileged container gets by default:
// a common one, else one the test makes (a /dev/null twin) and removes.
func hostDevice(t *testing.T) string {
	for _, d := range []string{"/dev/kmsg", "/dev/loop-control", "/dev/tty0", "/dev/mem", "/dev/vda", "/dev/sda"} {
		if fi, err := os.Stat(d); err == nil && fi.Mode()&os.ModeDevice != 0 {
			return d
		}
	}
	d := fmt.Sprintf("/dev/driverhub-probe-%d", os.Getpid())
	if err := unix.Mknod(d, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
		testenv.Require(t, "no host device to probe, and none can be made: "+err.Error())
	}
	t.Cleanup(func() { os.Remove(d) })
	return d
}

func TestPrivileged(t *testing.T) {
	need(t)
	dev := hostDevice(t)
	e := newEnv(t)
	for _, priv := range []bool{true, false} {
		name := "rctUnpriv"
		if priv {
			name = "rctPriv"
		}
		s := e.spec(name, map[string]string{"run.sh": devDriver}, "sh", "run.sh")
		s.Env = append(s.Env, "PROBE="+dev)
		s.Container.Privileged = priv
		p, _ := e.start(s)
		if ex := waitExit(t, p, 30*time.Second); ex.Code != 0 {
			t.Fatalf("privileged=%v: exit %v", priv, ex)
		}
		got := waitFile(t, filepath.Join(s.Dir, "dev.txt"), 5*time.Second)
		if sees := strings.Contains(got, "sees:"+dev); sees != priv {
			t.Errorf("privileged=%v: sees %s = %v (%q)", priv, dev, sees, got)
		}
	}
}

func TestMemoryLimitOOM(t *testing.T) {
	needPython(t)
	e := newEnv(t)
	s := e.spec("rctOOM", map[string]string{"index.py": "import time\nb = b'x' * (200 << 20)\ntime.sleep(60)\n"}, "python3", "index.py")
	s.Container.MemoryLimitMB = 32
	p, out := e.start(s)
	ex := waitExit(t, p, 60*time.Second)
	if !ex.OOM {
		t.Fatalf("exit = %+v, want OOM; output %s", ex, out)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	needPython(t)
	e := newEnv(t)
	s := e.spec("rctStop", map[string]string{"index.py": "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nopen('ready', 'w').write('1\\n')\ntime.sleep(600)\n"}, "python3", "index.py")
	p, _ := e.start(s)
	waitFile(t, filepath.Join(s.Dir, "ready"), 30*time.Second)
	if m := p.MemoryBytes(); m <= 0 {
		t.Errorf("MemoryBytes = %d while running", m)
	}
	start := time.Now()
	if err := p.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	ex := waitExit(t, p, 30*time.Second)
	if el := time.Since(start); el < time.Second || el > 15*time.Second {
		t.Errorf("Stop took %v, want about the 1s grace", el)
	}
	if ex.Signal != "SIGKILL" || ex.OOM {
		t.Errorf("exit = %+v, want killed by SIGKILL", ex)
	}
	if syscall.Kill(p.Pid(), 0) == nil && !zombie(p.Pid()) {
		t.Errorf("driver pid %d still alive", p.Pid())
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

func TestCleanupRemovesLeftoverContainer(t *testing.T) {
	need(t)
	e := newEnv(t)
	s := e.spec("rctLeft", nil)
	pid, agent := startFakeAgent(t, e.root, s.Name, s.Dir, s.StateDir)
	agent.Process.Kill()
	agent.Wait()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the driver did not outlive its agent: %v", err)
	}
	if err := runc.New(runc.Options{Root: e.root}).Cleanup(s.Name, s.StateDir); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for syscall.Kill(pid, 0) == nil && !zombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("driver %d still running after Cleanup", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if o, err := e.runc("state", "dh-"+driverrt.UnitName(s.Name, s.StateDir)); err == nil {
		t.Errorf("container still known to runc: %s", o)
	}
	if _, err := os.Stat(filepath.Join(s.StateDir, "bundle")); !os.IsNotExist(err) {
		t.Errorf("bundle not removed: %v", err)
	}
	if err := e.rt.Cleanup(s.Name, s.StateDir); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
}
