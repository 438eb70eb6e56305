// Package agentcmd is the `driverhub agent` command, shared by the full
// driverhub binary and the agent-only driverhub-agent binary.
package agentcmd

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
}

// Command returns the `agent` command.
func Command() *cobra.Command {
	var c Config
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the edge agent: apply the instance's deployments on this gateway",
		Long: `Run the edge agent on a gateway. The instance's gateway secret comes from the
environment variable DRIVERHUB_GATEWAY_SECRET or, better, from --secret-file
(a root-only file): never put it on the command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Server, "server", os.Getenv("DRIVERHUB_SERVER"), "the driverhub server's URL (env DRIVERHUB_SERVER)")
	f.StringVar(&c.Dir, "dir", "./driverhub-agent", "the agent's directory: state, download cache, drivers, logs, builtin/")
	f.StringVar(&c.Runtime, "runtime", runtimeAuto, "how drivers run: runc (OCI containers, isolated), process (child processes), or auto: runc where it works, else process")
	f.StringVar(&c.SecretFile, "secret-file", "", "file holding the gateway secret (else env DRIVERHUB_GATEWAY_SECRET)")
	f.DurationVar(&c.HealthyAfter, "healthy-after", 5*time.Second, "how long a new driver must stay up before it counts as deployed")
	f.DurationVar(&c.PollWait, "poll-wait", 30*time.Second, "long-poll duration")
	f.StringVar(&c.Arch, "arch", "", "the gateway's CPU architecture as drivers name it (default: this binary's)")
	f.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func run(cmd *cobra.Command, c Config) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if c.Server == "" {
		return errors.New("--server is required (or env DRIVERHUB_SERVER)")
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
		HealthyAfter: c.HealthyAfter, PollWait: c.PollWait, Arch: c.Arch, Logger: log})
	if err != nil {
		return err
	}
	log.Info("driverhub agent starting", "version", driverhub.Version, "server", c.Server, "dir", c.Dir,
		"runtime", rt.Name(), "isolation", caps.Isolation, "cgroup", caps.Cgroup)
	return a.Run(cmd.Context())
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
