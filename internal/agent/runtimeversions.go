package agent

import (
	"context"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// versionProbeTimeout bounds each interpreter's answer: a JVM on a small
// gateway takes a while, a broken one must not hold the reports back.
const versionProbeTimeout = 5 * time.Second

// versionCommands ask each interpreter on PATH for its version.
var versionCommands = map[driverhub.Runtime][]string{
	driverhub.RuntimePython3: {"python3", "--version"}, // Python 3.11.2
	driverhub.RuntimeNodeJS:  {"node", "--version"},    // v20.19.2
	driverhub.RuntimeJava:    {"java", "-version"},     // openjdk version "17.0.15" 2025-04-15 (on stderr)
}

var versionPattern = regexp.MustCompile(`[0-9]+(\.[0-9]+)*(_[0-9]+)?`)

// versionProbe holds the versions of the drivers' interpreters, measured
// once, when the agent starts.
type versionProbe struct {
	done     chan struct{}
	versions map[driverhub.Runtime]string // written before done is closed
}

// probeVersions asks every interpreter of commands for its version, all at
// once; those missing or silent within the timeout are left out.
func probeVersions(commands map[driverhub.Runtime][]string, timeout time.Duration) *versionProbe {
	p := &versionProbe{done: make(chan struct{}), versions: map[driverhub.Runtime]string{}}
	go func() {
		defer close(p.done)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for rt, argv := range commands {
			wg.Go(func() {
				if v := askVersion(argv, timeout); v != "" {
					mu.Lock()
					p.versions[rt] = v
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}()
	return p
}

func askVersion(argv []string, timeout time.Duration) string {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.WaitDelay = time.Second // a child holding the pipes must not hold us
	out, err := cmd.CombinedOutput()
	if err != nil {
		return ""
	}
	return versionPattern.FindString(string(out))
}

// measured returns the versions if they are measured, else nil at once.
func (p *versionProbe) measured() map[driverhub.Runtime]string {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.versions
	default:
		return nil
	}
}

// wait returns the versions once measured, or nil if ctx ends first.
func (p *versionProbe) wait(ctx context.Context) map[driverhub.Runtime]string {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.versions
	case <-ctx.Done():
		return nil
	}
}
