package driverhub_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/testenv"
)

// The loaders of SPEC §7, run with the real interpreters: a driver whose
// top-level code returns stays up; an uncaught exception or a non-zero
// exit is a crash; exit 0 is an exit; SIGTERM stops it.

// stopGrace is the agent's grace between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// loaded is one run of a driver through its runtime's loader.
type loaded struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line
	stderr *strings.Builder
	done   chan struct{} // closed once it has exited
	err    error         // cmd.Wait's error, once done
}

// loadDriver writes the entry file of rt and starts it as the agent does,
// with /usr/bin first on PATH (a version manager's shim starts slowly).
func loadDriver(t *testing.T, rt driverhub.Runtime, source string) *loaded {
	t.Helper()
	argv, env, _ := rt.Command("")
	bin := filepath.Join("/usr/bin", argv[0])
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.Command(t, argv[0])
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, rt.EntryFile()), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, "PATH=/usr/bin:"+os.Getenv("PATH"))...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &loaded{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: l.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
		l.err = cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-l.done
	})
	return l
}

// lockedWriter is written by exec's copier and read only after Wait.
type lockedWriter struct{ w io.Writer }

func (w *lockedWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// expect waits for a line of stdout holding want, failing on the driver's end.
func (l *loaded) expect(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				<-l.done
				t.Fatalf("the driver ended (%v) before printing %q; stderr:\n%s", l.err, want, l.stderr)
			}
			if strings.Contains(line, want) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line %q within 30 s", want)
		}
	}
}

// exit waits for the driver's end and returns its status (-1 for a signal).
func (l *loaded) exit(t *testing.T) (code int, signal syscall.Signal) {
	t.Helper()
	for range l.lines { // drain: the reader goroutine waits only after EOF
	}
	<-l.done
	var ee *exec.ExitError
	if l.err != nil && !errors.As(l.err, &ee) {
		t.Fatal(l.err)
	}
	ws := l.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1, ws.Signal()
	}
	return ws.ExitStatus(), 0
}

// sources of the same drivers in both languages.
var loaderDrivers = map[driverhub.Runtime]map[string]string{
	driverhub.RuntimePython3: {
		// The top-level code starts a non-daemon thread and returns. Its
		// output reaches the log unflushed: the process does not end.
		"returns": `import sys, threading
print("loaded name=%s argv0=%s file=%s" % (__name__, sys.argv[0], __file__))
def later():
    print("thread still runs")
threading.Timer(0.2, later).start()
`,
		"raises": "def connect():\n    raise RuntimeError('cannot reach the PLC')\nconnect()\n",
		"exit0":  "import sys\nsys.exit(0)\n",
		"exit3":  "import sys\nsys.exit(3)\n",
	},
	driverhub.RuntimeNodeJS: {
		"returns": `console.log("loaded main=" + (require.main === module) + " argv1=" + process.argv[1] + " file=" + __filename);
setTimeout(() => console.log("timer still runs"), 200);
`,
		"raises": "function connect() { throw new Error('cannot reach the PLC'); }\nconnect();\n",
		"exit0":  "process.exit(0);\n",
		"exit3":  "process.exit(3);\n",
	},
}

func TestLoaderKeepsDriverUpAfterItsCodeReturns(t *testing.T) {
	for rt, later := range map[driverhub.Runtime]string{driverhub.RuntimePython3: "thread still runs", driverhub.RuntimeNodeJS: "timer still runs"} {
		t.Run(string(rt), func(t *testing.T) {
			l := loadDriver(t, rt, loaderDrivers[rt]["returns"])
			line := l.expect(t, "loaded ")
			entry, _ := filepath.EvalSymlinks(filepath.Join(l.cmd.Dir, rt.EntryFile()))
			want := map[driverhub.Runtime][]string{
				// As `python3 index.py` (3.9+: __file__ absolute) and `node index.js`.
				driverhub.RuntimePython3: {"name=__main__", "argv0=index.py", "file=" + entry},
				driverhub.RuntimeNodeJS:  {"main=true", "argv1=" + entry, "file=" + entry},
			}[rt]
			for _, w := range want {
				if !strings.Contains(line, w) {
					t.Errorf("the driver printed %q, want %s as if run directly", line, w)
				}
			}
			// Its thread or timer still works after the top-level code returned.
			l.expect(t, later)
			// Run directly, the driver would now end with status 0.
			time.Sleep(500 * time.Millisecond)
			select {
			case <-l.done:
				t.Fatalf("the driver ended (%v) once its code had returned; stderr:\n%s", l.err, l.stderr)
			default:
			}
			if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-l.done:
			case <-time.After(stopGrace):
				t.Fatalf("still running %s after SIGTERM", stopGrace)
			}
			if code, sig := l.exit(t); sig != syscall.SIGTERM {
				t.Errorf("ended with status %d, signal %v; want killed by SIGTERM", code, sig)
			}
		})
	}
}

func TestLoaderEndsDriverThatExitsOrRaises(t *testing.T) {
	for _, rt := range []driverhub.Runtime{driverhub.RuntimePython3, driverhub.RuntimeNodeJS} {
		for _, tc := range []struct {
			driver string
			code   int
		}{{"raises", 1}, {"exit0", 0}, {"exit3", 3}} {
			t.Run(string(rt)+"/"+tc.driver, func(t *testing.T) {
				l := loadDriver(t, rt, loaderDrivers[rt][tc.driver])
				if code, sig := l.exit(t); code != tc.code || sig != 0 {
					t.Errorf("ended with status %d, signal %v; want status %d", code, sig, tc.code)
				}
				if tc.driver != "raises" {
					return
				}
				// The traceback names the driver's code and the error.
				stderr := l.stderr.String()
				for _, want := range []string{"cannot reach the PLC", rt.EntryFile(), "connect"} {
					if !strings.Contains(stderr, want) {
						t.Errorf("stderr lacks %q:\n%s", want, stderr)
					}
				}
				if rt == driverhub.RuntimePython3 && strings.Contains(stderr, `"<string>"`) {
					t.Errorf("the traceback shows the loader's frames:\n%s", stderr)
				}
			})
		}
	}
}
