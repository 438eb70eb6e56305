// Package agent is the edge agent: it long-polls its instance's desired
// state, downloads, verifies and unpacks drivers, runs and supervises them
// through a runtime, rolls back drivers that do not stay up, and reports.
// It imports nothing of the server's storage or console.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// Config is everything `driverhub agent` needs.
type Config struct {
	Server string // the server's URL
	Secret string // the instance's gateway secret
	Dir    string // the agent's directory: state, cache, drivers, logs, builtin/
	// Runtime runs the drivers.
	Runtime driverrt.Runtime
	// HealthyAfter is how long a new driver must stay up (default 5 s).
	HealthyAfter time.Duration
	// PollWait is the long-poll duration (default 30 s).
	PollWait time.Duration
	// ReportEvery is the heartbeat period (default 15 s).
	ReportEvery time.Duration
	// Arch overrides the reported architecture (default: this binary's).
	Arch string
	// DriverUsers says whom drivers run as (SPEC §12); nil runs every
	// driver as the agent's own user, as an agent that is not root does.
	DriverUsers *DriverUsers
	// Capabilities is what the gateway can enforce (SPEC §12), sent with
	// every report (default: Runtime alone, isolating when it is runc).
	Capabilities *driverhub.Capabilities
	// VersionCommands ask the drivers' interpreters for their versions
	// when the agent starts (default: python3, node and java on PATH).
	VersionCommands map[driverhub.Runtime][]string
	Logger          *slog.Logger
}

// Agent applies deployments on a gateway.
type Agent struct {
	cfg    Config
	client *client.Client
	log    *slog.Logger
	arch   string
	clock  clock       // the supervisors' time
	ids    *identities // whom drivers run as
	trust  *trustStore // nil: packages need no signature (no --trust-root)

	mu     sync.Mutex
	state  *State
	sups   map[string]*supervisor
	logs   map[string]*driverLog
	dirty  chan struct{} // a driver's state changed: report soon
	result *driverhub.DeploymentReport
	// versions are the interpreters' versions, once Run has measured them.
	versions *versionProbe
}

// New checks the configuration and the runtime.
func New(cfg Config) (*Agent, error) {
	if cfg.Server == "" || cfg.Secret == "" || cfg.Dir == "" || cfg.Runtime == nil {
		return nil, errors.New("agent: server, secret, dir and runtime are required")
	}
	if err := cfg.Runtime.Check(); err != nil {
		return nil, fmt.Errorf("runtime %s cannot run drivers here: %w", cfg.Runtime.Name(), err)
	}
	dir, err := filepath.Abs(cfg.Dir) // drivers get absolute paths, whatever their working directory
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if cfg.HealthyAfter == 0 {
		cfg.HealthyAfter = 5 * time.Second
	}
	if cfg.PollWait == 0 {
		cfg.PollWait = 30 * time.Second
	}
	if cfg.ReportEvery == 0 {
		cfg.ReportEvery = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Capabilities == nil {
		name := cfg.Runtime.Name()
		cfg.Capabilities = &driverhub.Capabilities{Runtimes: []string{name}, Isolation: name == "runc"}
	}
	if cfg.VersionCommands == nil {
		cfg.VersionCommands = versionCommands
	}
	arch := cfg.Arch
	if arch == "" {
		arch = Arch(goruntime.GOARCH)
	}
	// Long polls outlive a default client timeout; each request has its own context.
	c, err := client.New(cfg.Server, cfg.Secret, &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: cfg.PollWait + 30*time.Second}})
	if err != nil {
		return nil, err
	}
	if err := makeDirs(cfg.Dir); err != nil {
		return nil, err
	}
	ids, err := newIdentities(cfg.DriverUsers, cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, client: c, log: cfg.Logger, arch: arch, clock: realClock{}, ids: ids,
		sups: map[string]*supervisor{}, logs: map[string]*driverLog{}, dirty: make(chan struct{}, 1)}, nil
}

// Arch names a Go architecture the way drivers' cpu_arch does.
func Arch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86-64"
	case "386":
		return "x86"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7-hf" // Go's linux/arm uses the hard-float ABI
	}
	return goarch
}

// Run resumes the applied deployment, then syncs with the server until
// ctx ends, when it stops every driver. Offline, drivers keep running.
func (a *Agent) Run(ctx context.Context) error {
	st, err := a.loadState()
	if err != nil {
		return err
	}
	a.state = st
	a.result = st.Result
	a.versions = probeVersions(a.cfg.VersionCommands, versionProbeTimeout)
	if err := a.resume(); err != nil {
		return err
	}
	a.cleanDisk(nil) // what a crash left half-deleted
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.reportLoop(ctx) }()
	go func() { defer wg.Done(); a.shipLogs(ctx) }()
	a.syncLoop(ctx)
	wg.Wait()
	a.reportStopped(a.stopAll())
	return nil
}

// resume replaces whatever an earlier agent left running and starts the
// drivers of the applied deployment: never two copies of one driver.
func (a *Agent) resume() error {
	names := map[string]bool{}
	for _, sub := range []string{"runtime", "drivers"} {
		entries, err := os.ReadDir(filepath.Join(a.cfg.Dir, sub))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() {
				names[e.Name()] = true
			}
		}
	}
	for name := range names {
		if err := a.cfg.Runtime.Cleanup(name, a.runtimeDir(name)); err != nil {
			return fmt.Errorf("clean up driver %s left by an earlier agent: %w", name, err)
		}
		if err := a.cleanupLegacy(name); err != nil {
			return fmt.Errorf("clean up driver %s left by an earlier agent: %w", name, err)
		}
	}
	a.releaseUnused()
	for name, inst := range a.state.Drivers {
		if err := a.startDriver(inst); err != nil {
			a.log.Error("start driver", "driver", name, "err", err)
		}
	}
	return nil
}

// cleanupLegacy cleans up after an agent that kept the runtime's state in
// DIR/drivers/<name>/runtime, when that directory is still the agent's: one
// that a driver owns is not trusted to say what to stop.
func (a *Agent) cleanupLegacy(name string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(a.driverDir(name), &st); err != nil || st.Uid != uint32(os.Geteuid()) || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil
	}
	legacy := filepath.Join(a.driverDir(name), "runtime")
	if _, err := os.Lstat(legacy); err != nil {
		return nil
	}
	if err := a.cfg.Runtime.Cleanup(name, legacy); err != nil {
		return err
	}
	return os.RemoveAll(legacy)
}

// releaseUnused frees the uids of drivers of which nothing is left.
func (a *Agent) releaseUnused() {
	if a.ids.alloc == nil {
		return
	}
	for _, name := range a.ids.alloc.names() {
		if _, ok := a.state.Drivers[name]; ok {
			continue
		}
		if _, err := os.Lstat(a.driverDir(name)); err == nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(a.cfg.Dir, "builtin", name, configFileName)); err == nil {
			continue // a built-in driver's config, the driver's, is still there
		}
		if err := a.ids.release(name); err != nil {
			a.log.Warn("release a driver's uid", "driver", name, "err", err)
		}
	}
}

// syncLoop long-polls the desired state, with jittered backoff while the
// server is unreachable.
func (a *Agent) syncLoop(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		m, etag, err := a.client.Desired(ctx, a.state.ETag, a.cfg.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var de *driverhub.Error
			if errors.As(err, &de) && de.Code == driverhub.EUnauthenticated {
				a.log.Error("the server refused the gateway secret: rotate it and restart the agent", "err", err)
			} else {
				a.log.Warn("sync with the server", "err", err, "retry_in", backoff)
			}
			sleep(ctx, jitter(backoff))
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if m == nil || m.DeploymentID == a.state.DeploymentID {
			a.mu.Lock()
			a.state.ETag = etag
			a.mu.Unlock()
			continue
		}
		a.apply(ctx, m, etag)
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// builtins lists the built-in drivers found under DIR/builtin.
func (a *Agent) builtins() []string {
	out := []string{}
	entries, _ := os.ReadDir(filepath.Join(a.cfg.Dir, "builtin"))
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// stopAll stops every driver and returns their states: stopped.
func (a *Agent) stopAll() []driverhub.DriverReport {
	a.mu.Lock()
	sups := a.sups
	a.sups = map[string]*supervisor{}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Go(s.Stop)
	}
	wg.Wait()
	a.mu.Lock()
	for _, l := range a.logs {
		l.close()
	}
	a.mu.Unlock()
	out := make([]driverhub.DriverReport, 0, len(sups))
	for _, s := range sups {
		out = append(out, s.status())
	}
	return out
}
