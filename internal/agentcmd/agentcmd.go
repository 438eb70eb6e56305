// Package agentcmd is the `driverhub agent` role's command line, its flags
// and start-up, shared by the full driverhub binary (which wraps it in a
// cobra command) and the agent-only driverhub-agent binary (Main). It
// imports no cobra: the agent binary's every linked megabyte is resident
// on the gateway.
package agentcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/agent"
)

// Config is the agent role's flags.
type Config struct {
	Server       string
	Dir          string
	Runtime      string
	SecretFile   string
	HealthyAfter time.Duration
	PollWait     time.Duration
	Arch         string
	LogLevel     string
	DriverUIDs   string
	DriverUser   string
	TrustRoot    string
}

// Short and Long describe the agent role in help.
const (
	Short = "Run the edge agent: apply the instance's deployments on this gateway"
	Long  = `Run the edge agent on a gateway. The instance's gateway secret comes from the
environment variable DRIVERHUB_GATEWAY_SECRET or, better, from --secret-file
(a root-only file): never put it on the command line.

Run as root, the agent runs each driver under a uid of its own from
--driver-uids, in group driverhub-driver (create it first:
groupadd --system driverhub-driver), or every driver as --driver-user; only
privileged versions run as root. Not run as root, it runs every driver as
its own user, which can then read what the agent reads.

With --trust-root (the tenant's root.json, from driverhub trust export-root)
the agent installs only packages signed under that root with TUF, whatever
the server says: a compromised server cannot make it run other code.`
)

// Flags defines the agent role's flags on f and returns the config they fill.
func Flags(f *pflag.FlagSet) *Config {
	c := &Config{}
	f.StringVar(&c.Server, "server", os.Getenv("DRIVERHUB_SERVER"), "the driverhub server's URL (env DRIVERHUB_SERVER)")
	f.StringVar(&c.Dir, "dir", "./driverhub-agent", "the agent's directory: state, download cache, drivers, logs, builtin/")
	f.StringVar(&c.Runtime, "runtime", runtimeAuto, "how drivers run: runc (OCI containers, isolated), process (child processes), or auto: runc where it works, else process")
	f.StringVar(&c.SecretFile, "secret-file", "", "file holding the gateway secret (else env DRIVERHUB_GATEWAY_SECRET)")
	f.DurationVar(&c.HealthyAfter, "healthy-after", 5*time.Second, "how long a new driver must stay up before it counts as deployed")
	f.DurationVar(&c.PollWait, "poll-wait", 30*time.Second, "long-poll duration")
	f.StringVar(&c.Arch, "arch", "", "the gateway's CPU architecture as drivers name it (default: this binary's)")
	f.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&c.DriverUIDs, "driver-uids", "",
		"the range each driver's own uid comes from, FIRST-LAST (default "+agent.DefaultDriverUIDs+"); its group is "+agent.DriverGroup+" (needs root)")
	f.StringVar(&c.DriverUser, "driver-user", "", "run every driver as this one user instead of a uid of its own (needs root)")
	f.StringVar(&c.TrustRoot, "trust-root", "", "the tenant's TUF root.json (driverhub trust export-root): install only drivers signed under it")
	return c
}

// Main is the agent-only binary called name: its flags, --help and
// --version, then Run.
func Main(ctx context.Context, name string, args []string) error {
	f := pflag.NewFlagSet(name, pflag.ContinueOnError)
	c := Flags(f)
	version := f.Bool("version", false, "print the version and exit")
	f.Usage = func() {
		fmt.Fprintf(os.Stderr, "%s\n\nUsage:\n  %s [flags]\n\nFlags:\n%s", Long, name, f.FlagUsages())
	}
	switch err := f.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		return nil
	case err != nil:
		return err
	case *version:
		fmt.Printf("%s version %s\n", name, driverhub.Version)
		return nil
	case f.NArg() > 0:
		return fmt.Errorf("unexpected argument %q: the agent takes flags only", f.Arg(0))
	}
	return Run(ctx, *c)
}

// Run starts the agent as c says and runs it until ctx ends.
func Run(ctx context.Context, c Config) error {
	tuneMemory()
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if c.Server == "" {
		return errors.New("--server is required (or env DRIVERHUB_SERVER)")
	}
	if c.DriverUser != "" && c.DriverUIDs != "" {
		return errors.New("--driver-uids and --driver-user exclude each other: drivers get uids of their own, or all run as one user")
	}
	// Not dumpable: /proc/<agent>/environ and the agent's memory stay
	// closed to processes of its own uid, such as drivers when the agent
	// is not root and cannot give them other users.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Warn("cannot make the agent undumpable", "err", err)
	}
	secret, err := readSecret(c.SecretFile)
	if err != nil {
		return err
	}
	rt, caps, err := chooseRuntime(c.Runtime, log)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{Server: c.Server, Secret: secret, Dir: c.Dir, Runtime: rt, Capabilities: caps,
		HealthyAfter: c.HealthyAfter, PollWait: c.PollWait, Arch: c.Arch, Logger: log,
		DriverUsers: &agent.DriverUsers{UIDs: c.DriverUIDs, User: c.DriverUser}})
	if err != nil {
		return err
	}
	if c.TrustRoot != "" {
		if err := a.PinTrustRoot(c.TrustRoot); err != nil {
			return fmt.Errorf("--trust-root: %w", err)
		}
	}
	log.Info("driverhub agent starting", "version", driverhub.Version, "server", c.Server, "dir", c.Dir,
		"runtime", rt.Name(), "isolation", caps.Isolation, "cgroup", caps.Cgroup, "drivers_own_uids", a.OwnUIDs(), "trust_root", c.TrustRoot)
	releaseBinaryPages() // started: what starting alone needed may go
	return a.Run(ctx)
}

func readSecret(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--secret-file: %w", err)
		}
		if info, err := os.Stat(file); err == nil && info.Mode().Perm()&0o077 != 0 {
			slog.Warn("the secret file is readable by others: chmod 600 it", "file", file)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if s := strings.TrimSpace(os.Getenv("DRIVERHUB_GATEWAY_SECRET")); s != "" {
		return s, nil
	}
	return "", errors.New("no gateway secret: set --secret-file or DRIVERHUB_GATEWAY_SECRET")
}
